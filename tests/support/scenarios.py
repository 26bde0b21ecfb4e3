"""Known scenarios for the leaders' reports, as the producers would emit them.

``sewer_among_others``: twenty reports of one blocked sewer in one community, in
different words, among a hundred other concerns of the same weeks (other categories,
other communities, other problems), each with its ticket's events so far.
"""
import random
from datetime import timedelta

from tests.support.ticket_life import TicketLife

SEWER = [  # twenty ways of reporting the sewer on 元岗路 (Yuangang Road)
    "元岗路下水道堵塞，污水外溢", "元岗路口下水道又堵了，污水冒出来", "下水道堵塞好几天，污水流到路面",
    "元岗路的下水道堵塞，臭味很大", "污水从下水道井盖冒出，下水道堵塞", "元岗路下水道堵塞，行人没法走",
    "下水道堵塞导致污水横流", "元岗路污水外溢，下水道需要疏通", "下水道堵塞，污水漫到商铺门口",
    "元岗路下水道堵塞严重，污水很臭", "请疏通元岗路下水道，污水外溢", "下水道堵塞，雨后污水积水",
    "元岗路下水道堵塞，污水倒灌", "下水道又堵塞了，污水溢出路面", "元岗路的下水道堵塞一直没人管，污水外溢",
    "污水外溢，元岗路下水道堵塞", "元岗路下水道堵塞，孩子上学踩污水", "下水道堵塞，元岗路污水外溢很久了",
    "元岗路下水道堵塞，污水冒到人行道", "元岗路下水道堵塞，污水外溢，请尽快处理"]
OTHERS = [  # (category, text): other problems of the same weeks
    ("parking", "小区门口违章停车，消防通道被占"), ("parking", "路边乱停车，公交车过不去"),
    ("power-supply", "路灯不亮，晚上走路很危险"), ("greening", "公园里的树枝挡住路灯"),
    ("public-security", "工地夜间施工噪音太大"), ("property-management", "电梯经常停运，物业不管"),
    ("elderly-care", "希望社区开办长者饭堂"), ("elderly-care", "老人助餐点饭菜太贵"),
    ("sanitation", "垃圾桶满了没人清运"), ("sanitation", "小区垃圾分类点气味难闻"),
    ("roads-traffic", "路面坑洼，电动车容易摔倒"), ("roads-traffic", "红绿灯时间太短，老人过不了马路"),
]
COMMUNITIES = ["yuangang", "sanyuanli", "tonghe"]


def sewer_among_others(directory, start, district="baiyun", seed=11):
    """``(events, sewer ticket ids)``: 20 sewer reports in yuangang and 100 others
    received from ``start`` on, with some resolved."""
    chance = random.Random(seed)
    sent, sewer_ids = [], []
    for n, text in enumerate(SEWER):
        ticket_id = f"HT-SEWER-{n:02d}"
        sewer_ids.append(ticket_id)
        sent += _ticket(directory, ticket_id, district, "yuangang", "drainage", text,
                        start + timedelta(hours=5 * n), resolved=n < 4)
    for n in range(100):
        category, text = chance.choice(OTHERS)
        community = chance.choice(COMMUNITIES)
        sent += _ticket(directory, f"HT-OTHER-{n:03d}", district, community, category, text,
                        start + timedelta(hours=chance.randrange(0, 24 * 20)),
                        resolved=chance.random() < 0.5)
    return sent, sewer_ids


def _ticket(directory, ticket_id, district, community, category, text, received, resolved):
    """Received and assigned; when ``resolved``, dispatched an hour later to the
    department that leads the category, which resolved it a day later."""
    life = TicketLife(directory, ticket_id, received, district=district, community=community,
                      category=category, title=None, description=text)
    life.assigned(received + timedelta(hours=2))
    if resolved:
        with life.step():  # forwarded and dispatched by the category rules at once
            life.forwarded(received + timedelta(hours=3)).dispatched(received + timedelta(hours=3))
        life.resolved(received + timedelta(hours=30), "已处理")
    return life.events
