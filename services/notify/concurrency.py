"""How many deliveries one destination gets at once: a limit that adapts to how it answers
(pure, no I/O).

Each destination (the SMTP server, a gateway, a webhook department) starts at
``ZD_NOTIFY_CONCURRENCY`` deliveries at once. A whole window of deliveries (as many as the
limit) accepted, each quicker than ``QUICK_SECONDS``, raises it by one, up to
``ZD_NOTIFY_MAX_CONCURRENCY``; a delivery to be retried (``429``, ``5xx``, an SMTP ``4xx``,
a timeout, a refused connection) halves it, down to one. Only the first failure among the
deliveries started before a halving halves it: a burst of failures from one moment counts
once. A refusal of one message (another ``4xx``, a bad address) says nothing about the
destination and leaves the limit as it is; so does a slow success.
"""
from dataclasses import dataclass

#: an answer quicker than this is a sign the destination has room for more
QUICK_SECONDS = 1.0


@dataclass
class AdaptiveLimit:
    limit: int
    most: int
    quick_in_a_row: int = 0
    generation: int = 0  # bumped by each halving: the deliveries started before it are older

    def __post_init__(self):
        self.most = max(1, self.most)
        self.limit = max(1, min(self.limit, self.most))

    def delivered(self, seconds):
        """A delivery was accepted after ``seconds``."""
        if seconds >= QUICK_SECONDS:
            self.quick_in_a_row = 0
            return
        self.quick_in_a_row += 1
        if self.quick_in_a_row >= self.limit:
            self.quick_in_a_row = 0
            self.limit = min(self.most, self.limit + 1)

    def overloaded(self, started_generation):
        """A delivery started in ``started_generation`` is to be retried: the destination
        is busy or away."""
        self.quick_in_a_row = 0
        if started_generation == self.generation:
            self.limit = max(1, self.limit // 2)
            self.generation += 1

    def refused(self):
        """A delivery was refused for what it carries: nothing learnt about the destination."""
