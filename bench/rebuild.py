"""``make bench-rebuild``: how long reporting's read model takes to rebuild, and how long
the overdue and hot-topic reports take, over many tickets.

Fills reporting's event log in a database of its own (``zd_bench_rebuild``, dropped
and made again) with the events of ``ZD_BENCH_TICKETS`` tickets (100,000 by default),
built by the producers' own code: each concern received, assigned, dispatched and,
for most, resolved. Then rebuilds the read model from the log and times the reports
on it: overdue, and hot topics over a month, over 20,000 tickets and over all of them,
and over 20,000 long concerns that all share words (the grouping's hardest case).
Figures only: nothing here passes or fails on time.
"""
import os

os.environ.setdefault("ZD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/zd_bench_rebuild")

import random  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402

from services.common.config import settings  # noqa: E402
from services.common.db import Transactions, make_pool  # noqa: E402
from services.common.directory import load_directory  # noqa: E402
from services.common.migrate import migrate  # noqa: E402
from services.reporting import overdue, store, topics  # noqa: E402
from services.reporting.use_cases.rebuild import rebuild  # noqa: E402
from tests.support.scenarios import OTHERS, SEWER  # noqa: E402
from tests.support.system import DEMO_DIRECTORY  # noqa: E402
from tests.support.ticket_life import TicketLife  # noqa: E402
from tests.support.topics import long_concerns  # noqa: E402

TICKETS = int(os.environ.get("ZD_BENCH_TICKETS", "100000"))
START = datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc)
DEPARTMENTS = {"drainage": "baiyun-water", "parking": "gz-traffic-police"}


def ticket_events(directory, n, chance):
    """The events of ticket ``n``: received, assigned, dispatched and (four in five) resolved."""
    ticket_id = f"BR{n:07d}"
    received = START + timedelta(minutes=n * 3)  # 100,000 tickets over some 200 days, 480 a day
    category, text = ("drainage", chance.choice(SEWER)) if n % 7 == 0 else chance.choice(OTHERS)
    community = chance.choice(["yuangang", "sanyuanli", "tonghe", "jingxi", "huangshi"])
    life = TicketLife(directory, ticket_id, received, community=community, category=category,
                      title=None, description=text).assigned(received + timedelta(minutes=1))
    dispatched = received + timedelta(hours=1)
    with life.step():
        life.forwarded(dispatched).dispatched(dispatched, DEPARTMENTS.get(
            category, "baiyun-urban-management"), due=dispatched + timedelta(hours=72))
    if n % 5:
        life.resolved(received + timedelta(hours=chance.randrange(2, 120)), "已处理")
    return life.events


def fill_event_log(url, directory):
    chance = random.Random(5)
    count = 0
    with psycopg.connect(url, options="-c search_path=reporting") as conn:
        with conn.cursor().copy("COPY event_log (type, body) FROM STDIN") as copy:
            for n in range(TICKETS):
                for event in ticket_events(directory, n, chance):
                    copy.write_row([event.type, Jsonb(event.body)])
                    count += 1
    return count


def timed(what, action):
    started = time.monotonic()
    result = action()
    print(f"{what}: {time.monotonic() - started:.2f} s")
    return result


def rebuilt(url):
    """The read model rebuilt as reporting rebuilds it, over a pool of its own connections."""
    with make_pool(url, "reporting", size=2) as pool:
        return rebuild(Transactions(pool))


def main():
    url = settings().database_url
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(
            sql.Identifier(url.rsplit("/", 1)[1].split("?")[0])))
    migrate(url)
    directory = load_directory([DEMO_DIRECTORY])
    events = timed(f"event log filled ({TICKETS} tickets)", lambda: fill_event_log(url, directory))
    print(f"events: {events}")
    done = timed("rebuild", lambda: rebuilt(url))
    print(f"rebuilt: {done.events} events, {done.tickets} tickets, {done.ratings} ratings,"
          f" {done.events / done.seconds:.0f} events/s; tables held against writes"
          f" {done.locked_seconds} s")
    with psycopg.connect(url, options="-c search_path=reporting", row_factory=psycopg.rows.dict_row) as conn:
        as_of = START + timedelta(days=210)
        found = timed("overdue, whole district", lambda: overdue.overdue_entries(
            store.overdue_candidates(conn, "baiyun", None, as_of,
                                     overdue.cutoffs(directory, "baiyun", as_of)), directory, as_of))
        print(f"overdue tickets: {len(found)}")
        last = START + timedelta(minutes=3 * TICKETS)  # just after the last ticket
        for days in sorted({30, 42, TICKETS * 3 // 1440 + 1}):  # a month; 20,000 tickets; all
            time_hot_topics(conn, last, days)
    long = [topics.TopicTicket(t.ticket_id, t.category, t.community, t.description, t.status,
                               t.received_at, topics.joined_words(t.description))
            for t in long_concerns(20_000, START)]
    groups = timed("hot topics, 20000 concerns of thirty words sharing words",
                   lambda: topics.hot_topics(long, []))
    print(f"top group: {groups[0]['count']} tickets")


def time_hot_topics(conn, end, days):
    """Hot topics over the ``days`` before ``end``, against the ``days`` before them."""
    span = timedelta(days=days)
    current = store.topic_tickets(conn, "baiyun", end - span, end)
    previous = store.topic_tickets(conn, "baiyun", end - 2 * span, end - span)
    groups = timed(f"hot topics, {days} days ({len(current)} tickets, {len(previous)} before)",
                   lambda: topics.hot_topics([topics.TopicTicket(**row) for row in current],
                                             [topics.TopicTicket(**row) for row in previous]))
    print(f"top group: {groups[0]['count']} tickets, words {groups[0]['top_words']}")


if __name__ == "__main__":
    main()
