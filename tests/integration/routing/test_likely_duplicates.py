"""Many voices, one problem: a concern that repeats an open ticket is linked to it, or
merged into it, by routing's own workflow on the real database.

Twenty neighbours report one overflowing sewer on 街口路 (different words, three
channels, points within 100 m) among a hundred other concerns of the district. With
the district's ``duplicates`` policy at ``suggest`` the first report is dispatched and
the nineteen others are linked to it and wait for one merge; at ``auto_merge`` the
nearly identical ones are merged at once. Near misses stay apart: the same words a
kilometre away, the same place a month later, another category.
"""
import copy
import math
from datetime import timedelta

import psycopg
import pytest
from psycopg.rows import dict_row

from services.common import events
from services.common.config import settings
from services.notify import domain as notify_domain
from services.routing import store
from services.routing.schemas import TicketViewSchema
from services.routing.use_cases import inbound, reading, workflow
from services.routing.use_cases.step import Step
from tests.support import events as made

SEWER = (40.0, 116.0)  # a point; the reports lie within 100 m of it
SEWER_REPORTS = [
    "街口路下水道堵塞，污水外溢",
    "街口路的下水道又堵了，污水流到路面上",
    "街口路沙井冒污水好几天了，下水道堵塞",
    "下水道堵塞，街口路污水横流",
    "街口路下水道堵了，污水外溢，臭气熏天",
    "街口路污水井堵塞，污水漫到人行道",
    "街口路下水道反水，污水外溢到门口",
    "街口路这边下水道堵塞三天了，污水外溢",
    "反映街口路下水道堵塞，污水溢出",
    "街口路下水道堵塞严重，污水到处流",
    "街口路路口下水道堵住了，污水外溢",
    "街口路下水道堵塞，污水外溢，请尽快疏通",
    "街口路下水道口堵塞，雨后污水外溢",
    "街口路市场门口下水道堵塞，污水外溢",
    "街口路下水道堵塞导致污水外溢",
    "街口路下水道又堵塞了，污水外溢",
    "街口路下水道堵塞，污水溢到路上",
    "街口路下水道堵塞好久了，污水外溢",
    "街口路下水道堵塞，污水外溢影响出行",
    "街口路下水道堵塞，污水冒出来",
]
CHANNELS = ("wechat", "hotline", "liaison_station")
STREETS = ("江浦路", "温泉镇", "城郊街", "街口路", "新城路")
OTHERS = [  # a hundred concerns of the district: twenty problems on each of five streets
    (f"{street}{problem}", category)
    for street in STREETS
    for problem, category in (
        ("路灯不亮", None), ("违章停车堵门口", "parking"), ("垃圾没人清运", "sanitation"),
        ("路面坑洼", "roads-traffic"), ("停水两天了", "water-supply"), ("树枝断了挡路", "greening"),
        ("长者饭堂饭菜太咸", "elderly-care"), ("噪音扰民", "public-security"),
        ("电梯坏了", "property-management"), ("补办身份证太慢", "household-registration"),
        ("积水严重", "drainage"), ("停车位不够", "parking"), ("公厕太脏", "sanitation"),
        ("红绿灯坏了", "roads-traffic"), ("水压太低", "water-supply"), ("草坪被踩坏", "greening"),
        ("学位不够", "education"), ("小偷多", "public-security"), ("物业费太贵", "property-management"),
        ("化粪池满了", "drainage"))
]


def near(point, metres_north=0.0, metres_east=0.0):
    lat, lon = point
    return {"lat": lat + metres_north / 111_195,
            "lon": lon + metres_east / (111_195 * math.cos(math.radians(lat)))}


def directory_with(clean_system, action):
    directory = copy.deepcopy(clean_system.directory)
    directory["districts"]["conghua"]["policy"]["duplicates"] = action
    return directory


def receive(conn, directory, n, description, category="drainage", location=None, days=0,
            community="jiekou"):
    ticket_id = f"ZD20260302-{n:08d}"
    row = made.concern_row(ticket_id, received_at=made.T0 + timedelta(days=days, seconds=n),
                           district="conghua", community=community, channel=CHANNELS[n % 3],
                           category=category, title=None, description=description,
                           location=location)
    concern = inbound.checked_concern(events.concern_received(row).body, directory)
    with conn.transaction(), Step.on(conn, directory) as step:
        workflow.receive_concern(step, concern)
    return ticket_id


def routing_connection():
    return psycopg.connect(settings().database_url, row_factory=dict_row,
                           options="-c search_path=routing")


def scenario(directory):
    """The sewer's twenty reports among the hundred others: ``(sewer ids, other ids)``."""
    with routing_connection() as conn:
        sewer, others = [], []
        for i, text in enumerate(SEWER_REPORTS):
            location = near(SEWER, (i % 5) * 15, (i % 4) * 15)  # all within 100 m
            sewer.append(receive(conn, directory, i, text, category=None if i % 2 else "drainage",
                                 location=location))
            for j in range(5):  # each street 1.5 km from the next, its problems within 100 m
                n = 100 + i * 5 + j
                text, category = OTHERS[n - 100]
                street = (n - 100) // 20
                others.append(receive(conn, directory, n, text, category=category,
                                      location=near(SEWER, 1500 * (street + 1), (n % 20) * 4)))
        return sewer, others


def tickets(ids):
    with routing_connection() as conn:
        rows = conn.execute("SELECT * FROM tickets WHERE ticket_id = ANY(%s)", (ids,)).fetchall()
        links = {row["ticket_id"]: row for row in conn.execute(
            "SELECT * FROM duplicate_links WHERE ticket_id = ANY(%s) OR original_id = ANY(%s)",
            (ids, ids)).fetchall()}
        dispatched = {row["ticket_id"] for row in conn.execute(
            "SELECT DISTINCT ticket_id FROM dispatches WHERE ticket_id = ANY(%s)", (ids,))}
    return {row["ticket_id"]: row for row in rows}, links, dispatched


def test_twenty_reports_of_one_sewer_become_one_dispatched_ticket_and_nineteen_links(clean_system):
    sewer, others = scenario(directory_with(clean_system, "suggest"))
    rows, links, dispatched = tickets(sewer + others)
    first, *rest = sewer
    linked = {ticket_id for ticket_id in rest if links.get(ticket_id, {}).get("original_id") == first}
    found = len(linked)
    print(f"[figure] suggest: {found} of 19 repeats linked to the first report;"
          f" unrelated tickets linked: {len(set(links) & set(others))}")
    assert linked == set(rest), sorted(set(rest) - linked)
    assert first in dispatched and not set(rest) & dispatched
    assert all(rows[ticket_id]["status"] == "assigned" for ticket_id in rest)
    assert not set(links) & set(others)  # no unrelated ticket touched
    assert {ticket_id for ticket_id in others if rows[ticket_id]["category"]} <= dispatched
    with routing_connection() as conn:
        note = conn.execute("SELECT note FROM timeline WHERE ticket_id = %s AND action = 'duplicate'",
                            (rest[0],)).fetchone()["note"]
    assert note.startswith(f"likely duplicate of {first} (score ")
    assert "下水道" in note


def test_at_auto_merge_the_repeats_are_merged_at_once(clean_system):
    sewer, others = scenario(directory_with(clean_system, "auto_merge"))
    rows, links, dispatched = tickets(sewer + others)
    first, *rest = sewer
    merged = [ticket_id for ticket_id in rest if rows[ticket_id]["status"] == "merged"]
    print(f"[figure] auto_merge: {len(merged)} of 19 repeats merged at once, the other"
          f" {19 - len(merged)} linked")
    assert merged and all(rows[ticket_id]["merged_into"] == first for ticket_id in merged)
    assert all(links[ticket_id]["score"] >= 0.7 for ticket_id in merged)
    assert dispatched & set(sewer) == {first}
    assert not set(links) & set(others)


def test_near_misses_stay_apart(clean_system):
    directory = directory_with(clean_system, "auto_merge")
    with routing_connection() as conn:
        first = receive(conn, directory, 1, SEWER_REPORTS[0], location=near(SEWER))
        far = receive(conn, directory, 2, SEWER_REPORTS[0], location=near(SEWER, 1000))
        later = receive(conn, directory, 3, SEWER_REPORTS[0], location=near(SEWER), days=30)
        other_category = receive(conn, directory, 4, SEWER_REPORTS[0], category="sanitation",
                                 location=near(SEWER))
        again = receive(conn, directory, 5, SEWER_REPORTS[0], location=near(SEWER, 50))
        links = {ticket_id: store.duplicate_links(conn, ticket_id)[0]
                 for ticket_id in (far, later, other_category, again)}
    assert links[far] is None and links[later] is None and links[other_category] is None
    assert links[again]["original_id"] == first and links[again]["score"] == 1.0


def test_without_a_point_the_community_is_the_place(clean_system):
    directory = directory_with(clean_system, "suggest")
    with routing_connection() as conn:
        first = receive(conn, directory, 1, SEWER_REPORTS[0])
        same_community = receive(conn, directory, 2, SEWER_REPORTS[1])
        elsewhere = receive(conn, directory, 3, SEWER_REPORTS[1], community="wenquan")
        assert store.duplicate_links(conn, same_community)[0]["original_id"] == first
        assert store.duplicate_links(conn, elsewhere)[0] is None


def test_a_district_that_ignores_duplicates_links_none(clean_system):
    directory = directory_with(clean_system, "ignore")
    with routing_connection() as conn:
        first = receive(conn, directory, 1, SEWER_REPORTS[0], location=near(SEWER))
        again = receive(conn, directory, 2, SEWER_REPORTS[0], location=near(SEWER))
        assert store.duplicate_links(conn, again) == (None, [])
        assert store.duplicate_links(conn, first) == (None, [])


def test_both_tickets_show_the_link(clean_system):
    directory = directory_with(clean_system, "suggest")
    with routing_connection() as conn:
        first = receive(conn, directory, 1, SEWER_REPORTS[0], location=near(SEWER))
        again = receive(conn, directory, 2, SEWER_REPORTS[1], location=near(SEWER, 60))
        shown = {ticket_id: TicketViewSchema().dump(
                     reading.ticket_as_seen(conn, store.find_ticket(conn, ticket_id), directory))
                 for ticket_id in (first, again)}
    for view in shown.values():  # what GET /api/v1/tickets/{id} answers, as documented
        assert not TicketViewSchema().validate(view)
    link = shown[again]["likely_duplicate_of"]
    assert link["ticket_id"] == first and 0.35 <= link["score"] < 1
    assert {"街口", "下水道", "污水"} <= set(link["shared_words"])
    assert 55 < link["distance_m"] < 65
    assert shown[first]["likely_duplicate_of"] is None
    assert [repeat["ticket_id"] for repeat in shown[first]["likely_duplicates"]] == [again]
    assert shown[first]["likely_duplicates"][0]["score"] == link["score"]


def outbox_ticket_events(conn, ticket_id):
    return conn.execute("SELECT message_id, type, body FROM outbox WHERE type LIKE 'ticket.%%'"
                        " AND body->'ticket'->>'ticket_id' = %s ORDER BY id", (ticket_id,)).fetchall()


def test_a_merged_ticket_follows_its_original_to_the_result_and_its_rating(clean_system):
    directory = directory_with(clean_system, "auto_merge")
    with routing_connection() as conn:
        first = receive(conn, directory, 1, SEWER_REPORTS[0], location=near(SEWER))
        merged = receive(conn, directory, 2, SEWER_REPORTS[0], location=near(SEWER, 30))
        (dispatch,) = store.dispatches(conn, first)
        with conn.transaction(), Step.on(conn, directory) as step:
            workflow.apply_feedback(step, dispatch["department"], {
                "dispatch_id": dispatch["dispatch_id"], "status": "resolved",
                "result": "已疏通下水道", "note": None})
        follower = store.find_ticket(conn, merged)
        assert (follower["status"], follower["result"]) == ("merged", "已疏通下水道")
        (told,) = [row for row in outbox_ticket_events(conn, merged) if row["type"] == "ticket.resolved"]
        news = notify_domain.read_events(told["message_id"], told["type"], told["body"])
        assert [notify_domain.reporter_may_hear(event) for event in news] == [True]
        assert news[0].ticket["result"] == "已疏通下水道"
        with conn.transaction(), Step.on(conn, directory) as step:
            workflow.rate(step, {"ticket_id": merged, "resolution": 0, "rating": "unsatisfied",
                                 "comment": "还是有臭味"})
        rated = store.find_ticket(conn, merged)
        assert (rated["status"], rated["rating"]) == ("merged", "unsatisfied")
        notes = [entry["note"] for entry in store.timeline(conn, first)]
        assert f"the reporter of merged {merged} is unsatisfied: unsatisfied: 还是有臭味" in notes
        with pytest.raises(workflow.RatingRefused):
            with conn.transaction(), Step.on(conn, directory) as step:
                workflow.rate(step, {"ticket_id": merged, "resolution": 0, "rating": "satisfied"})
