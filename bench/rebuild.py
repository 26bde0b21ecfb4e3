"""``make bench-rebuild``: how long reporting's read model takes to rebuild and how much
memory it takes, how many bytes reporting keeps a ticket, how long the overdue and
hot-topic reports take over many tickets, and how many round trips to the database
reporting's consumer makes an event.

Fills reporting's event log in a database of its own (``zd_bench_rebuild``, dropped
and made again) with the events of ``ZD_BENCH_TICKETS`` tickets (100,000 by default),
built by the producers' own code: each concern received, assigned, dispatched and,
for most, resolved. Then rebuilds the read model from the log (its peak resident
memory read from ``/proc/self/status``, reset before it), sizes each table of
reporting's schema, and times the reports on it: the overdue list counted in SQL and,
one after the other, as it was counted in Python (the two lists compared), and hot
topics over a month, over 20,000 tickets and over all of them, and over 20,000 long
concerns that all share words (the grouping's hardest case). Last, the consumer applies
the events of 2,000 more tickets in batches of 1 and of 64, event by event and a batch
at once, its round trips counted from libpq's trace. Figures only: nothing here passes
or fails on time.
"""
import os

os.environ.setdefault("ZD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/zd_bench_rebuild")

import random  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402
from itertools import zip_longest  # noqa: E402

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402

from services.common.config import settings  # noqa: E402
from services.common.db import Transactions, make_pool  # noqa: E402
from services.common.directory import load_directory  # noqa: E402
from services.common.messaging import Batch, Envelope, handle_batch  # noqa: E402
from services.common.migrate import migrate  # noqa: E402
from services.reporting import overdue, store, topics, working_calendars  # noqa: E402
from services.reporting.use_cases import projection  # noqa: E402
from services.reporting.use_cases.overdue_list import overdue_list  # noqa: E402
from services.reporting.use_cases.rebuild import rebuild  # noqa: E402
from tests.support import overdue_reference  # noqa: E402
from tests.support.round_trips import RoundTrips  # noqa: E402
from tests.support.scenarios import OTHERS, SEWER  # noqa: E402
from tests.support.system import DEMO_DIRECTORY  # noqa: E402
from tests.support.ticket_life import TicketLife  # noqa: E402
from tests.support.topics import long_concerns  # noqa: E402

TICKETS = int(os.environ.get("ZD_BENCH_TICKETS", "100000"))
START = datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc)
QUEUE = "zd.reporting.events"
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


def peak_memory_reset():
    """Forget the process's peak resident memory so far (Linux: ``clear_refs`` 5), so that
    the next ``peak_memory_mb`` tells the peak of what runs in between."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def memory_mb(field):
    """``VmHWM`` (peak) or ``VmRSS`` (now) of this process, in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def growth(url, tickets, events):
    """Bytes per ticket and per event of each table of reporting's schema (indexes and
    TOAST counted), largest first."""
    with psycopg.connect(url) as conn:
        conn.execute("ANALYZE")
        rows = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'reporting' AND c.relkind = 'r' ORDER BY 2 DESC").fetchall()
    total = sum(size for _, size in rows)
    for table, size in rows:
        if size >= 10 * tickets:
            print(f"  {table}: {size / tickets:.0f} bytes a ticket ({size / 2**20:.1f} MB)")
    print(f"reporting's tables: {total / tickets:.0f} bytes a ticket, {total / events:.0f} an event;"
          f" {total / tickets * 1e6 / 2**30:.2f} GB a million tickets")


def consumed_round_trips(url, directory, tickets=2000):
    """Reporting's consumer applying the events of ``tickets`` more tickets, in batches of
    1 and of 64 (the prefetch), event by event (as before) and a batch at once: the round
    trips to the database an event costs."""
    chance = random.Random(7)
    first = TICKETS
    for size, at_once in ((1, False), (64, False), (64, True)):
        lives = [ticket_events(directory, first + n, chance) for n in range(tickets)]
        first += tickets
        arrived = [event for step in zip_longest(*lives) for event in step if event]  # tickets interleaved
        counter = RoundTrips()
        with make_pool(url, "reporting", size=1, configure=counter.configure) as pool:
            db = Transactions(pool)
            db.ping()
            counter.reset()
            started = time.monotonic()
            for start in range(0, len(arrived), size):
                batch = Batch()
                for event in arrived[start:start + size]:
                    batch.add(Envelope(str(uuid.uuid4()), event.type, event.body, QUEUE), None)
                handle_batch(db, batch, projection.apply_event,
                             apply_all=projection.apply_events if at_once else None)
            seconds = time.monotonic() - started
        how = "a batch at once" if at_once else "event by event"
        print(f"consumed {len(arrived)} events in batches of {size}, {how}:"
              f" {counter.count() / len(arrived):.2f} round trips an event,"
              f" {len(arrived) / seconds:.0f} events/s")


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
    resident = memory_mb("VmRSS")
    peak_memory_reset()
    done = timed("rebuild", lambda: rebuilt(url))
    print(f"rebuild peak memory: {memory_mb('VmHWM'):.0f} MB resident ({resident:.0f} MB before it)")
    print(f"rebuilt: {done.events} events, {done.tickets} tickets, {done.ratings} ratings,"
          f" {done.events / done.seconds:.0f} events/s; tables held against writes"
          f" {done.locked_seconds} s")
    growth(url, TICKETS, events)
    with psycopg.connect(url, options="-c search_path=reporting", row_factory=psycopg.rows.dict_row) as conn:
        as_of = START + timedelta(days=210)
        timed("overdue, the district's working days made", lambda: working_calendars.cover(
            conn, overdue.calendars(directory, "baiyun"), as_of))
        for _ in range(2):  # one after the other, twice: the machine's load varies
            found = timed("overdue, whole district, counted in SQL",
                          lambda: overdue_list(conn, directory, "baiyun", None, as_of))
            counted = timed("overdue, whole district, counted in Python (as before)",
                            lambda: overdue_reference.overdue_list(conn, directory, "baiyun", None, as_of))
        print(f"overdue tickets: {len(found)}")
        print(f"the same list both ways: {found == counted}")
        last = START + timedelta(minutes=3 * TICKETS)  # just after the last ticket
        for days in sorted({30, 42, TICKETS * 3 // 1440 + 1}):  # a month; 20,000 tickets; all
            time_hot_topics(conn, last, days)
    consumed_round_trips(url, directory)
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
