"""Concerns that make hot topics work hardest: long texts that all share words."""
import random
import string
from datetime import timedelta

from services.reporting.domain import TicketFacts


def long_concerns(count, end, seed=20):
    """``count`` sewer concerns of 元岗 (baiyun) received in the days before ``end``, one
    every two minutes, each a distinct text of thirty latin words drawn from a pool of
    two thousand: every ticket shares words with thousands of others."""
    chance = random.Random(seed)
    pool = sorted({"".join(chance.choices(string.ascii_lowercase, k=7)) for _ in range(2000)})
    return [TicketFacts(ticket_id=f"HT{n:06d}", status="received", district="baiyun",
                        community="yuangang", category="drainage", channel="web",
                        description=" ".join(chance.sample(pool, 30)),
                        received_at=end - timedelta(seconds=1 + n * 120))
            for n in range(count)]
