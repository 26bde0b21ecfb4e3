"""``make bench-duplicates``: how long finding a new concern's likely duplicate takes
among many open tickets.

Fills routing's tickets in a database of its own (``zd_bench_duplicates``, dropped and
made again) with ``ZD_BENCH_TICKETS`` open tickets (100,000 by default) of one
district of 25 communities, over the twelve categories of the demo directory, on 400
streets: each has the
significant words of its text, cut by the same code as routing, and a point. Then, for
200 new concerns, runs what routing runs as a concern arrives (the candidate query,
then the rule) and prints the time per concern and the query's plan. Figures only:
nothing here passes or fails on time.
"""
import os

os.environ.setdefault("ZD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/zd_bench_duplicates")

import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.rows import dict_row  # noqa: E402

from services.common.config import settings  # noqa: E402
from services.common.directory import DEFAULT_POLICY  # noqa: E402
from services.common.migrate import migrate  # noqa: E402
from services.common.words import words  # noqa: E402
from services.routing import duplicates, store  # noqa: E402
from tests.support.scenarios import OTHERS, SEWER  # noqa: E402

TICKETS = int(os.environ.get("ZD_BENCH_TICKETS", "100000"))
PROBES = 200
NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
STREETS = [f"{a}{b}路" for a in "东南西北中新旧上下前"
           for b in "山湖江河桥园林港塘坊湾岗村田石沙花竹松梅兰菊星月"][:400]
PROBLEMS = [(category, text.replace("元岗路", "")) for category, text in OTHERS] + [
    ("drainage", text.replace("元岗路", "")) for text in SEWER]
POLICY = {**DEFAULT_POLICY, "duplicates": "suggest"}
COMMUNITIES = [f"c{n:02d}" for n in range(25)]  # a district's communities


def fill(url, chance):
    """Insert the open tickets with COPY; returns how many."""
    cut = {text: list(dict.fromkeys(words(text))) for _, text in PROBLEMS}
    with psycopg.connect(url, options="-c search_path=routing") as conn:
        with conn.cursor().copy(
                "COPY tickets (ticket_id, status, district, community, channel, category,"
                " description, submitted_at, received_at, status_since, words, lat, lon)"
                " FROM STDIN") as copy:
            for n in range(TICKETS):
                category, text = chance.choice(PROBLEMS)
                street = chance.choice(STREETS)
                at = NOW - timedelta(minutes=chance.randrange(60 * 24 * 14))
                copy.write_row((f"BD{n:07d}", "assigned", "baiyun", chance.choice(COMMUNITIES),
                                "hotline", category,
                                street + text, at, at, at, [*words(street), *cut[text]],
                                23.1 + chance.random() * 0.2, 113.2 + chance.random() * 0.2))
        conn.execute("ANALYZE tickets")
    return TICKETS


def probe(conn, chance, located):
    """One new concern (with a point or without) through the candidate query and the
    rule: ``(seconds, candidates)``."""
    category, text = chance.choice(PROBLEMS)
    text = chance.choice(STREETS) + text
    started = time.perf_counter()
    point = (23.1 + chance.random() * 0.2, 113.2 + chance.random() * 0.2)
    ticket = {"ticket_id": "new", "district": "baiyun", "words": list(dict.fromkeys(words(text))),
              "community": chance.choice(COMMUNITIES),
              "lat": point[0] if located else None, "lon": point[1] if located else None}
    rows = store.duplicate_candidates(conn, ticket, category, NOW - timedelta(days=14),
                                      POLICY["duplicate_radius_m"])
    candidates = [duplicates.Candidate(row["ticket_id"], tuple(row["words"]), (row["lat"], row["lon"]),
                                       row["received_at"], row["original_id"]) for row in rows]
    duplicates.likely_duplicate(ticket["words"], point if located else None, candidates, POLICY)
    return time.perf_counter() - started, len(rows)


def main():
    url = settings().database_url
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(
            sql.Identifier(url.rsplit("/", 1)[1].split("?")[0])))
    migrate(url, schemas=("routing",))
    chance = random.Random(7)
    started = time.perf_counter()
    fill(url, chance)
    print(f"{TICKETS} open tickets in one district inserted in {time.perf_counter() - started:.1f} s")
    with psycopg.connect(url, options="-c search_path=routing", row_factory=dict_row) as conn:
        words("预热")  # jieba's dictionary, loaded once as at service start
        for located in (True, False):
            timings = [probe(conn, chance, located) for _ in range(PROBES)]
            seconds = sorted(t for t, _ in timings)
            found = [n for _, n in timings]
            print(f"likely-duplicate search per new concern {'with' if located else 'without'}"
                  f" a point ({PROBES} concerns): p50 {statistics.median(seconds) * 1000:.1f} ms,"
                  f" p95 {seconds[int(PROBES * 0.95)] * 1000:.1f} ms, max {seconds[-1] * 1000:.1f} ms;"
                  f" candidates read p50 {statistics.median(found):.0f}, max {max(found)}")
        category, text = PROBLEMS[0]
        ticket = {"ticket_id": "new", "district": "baiyun", "lat": 23.2, "lon": 113.3,
                  "community": COMMUNITIES[0],
                  "words": list(dict.fromkeys(words(STREETS[0] + text)))}
        with conn.transaction():
            conn.execute("SET LOCAL search_path = routing")
            plan = store.duplicate_candidates(
                ExplainingConnection(conn), ticket, category, NOW - timedelta(days=14), 200)
        print("the candidate query's plan, for a concern with a point:")
        for row in plan:
            print("   ", row["QUERY PLAN"])


class ExplainingConnection:
    """A connection whose ``execute`` explains the statement (run) instead."""

    def __init__(self, conn):
        self.conn = conn

    def execute(self, query, params):
        return self.conn.execute("EXPLAIN (ANALYZE, COSTS OFF) " + query, params)


if __name__ == "__main__":
    main()
