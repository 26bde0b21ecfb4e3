"""When to try a failed delivery again: exponential back-off with jitter (pure).

Attempt ``n`` failed with a retryable reason: wait ``base * 2**(n-1)`` seconds (at most
``MAX_DELAY``), scaled by a random factor in [0.5, 1] so that many notifications
failing together do not come back together; never less than the ``Retry-After`` the
other side asked for. After ``max_attempts`` attempts, or at once for a refusal, the
notification is parked as failed.
"""
import random

MAX_DELAY = 15 * 60


def next_step(attempt, retryable, retry_after=None, base=2.0, max_attempts=10, rand=random.random):
    """``("retry", seconds)`` or ``("failed", None)`` after attempt number ``attempt``."""
    if not retryable or attempt >= max_attempts:
        return "failed", None
    delay = min(MAX_DELAY, base * 2 ** (attempt - 1)) * (0.5 + rand() / 2)
    return "retry", max(delay, retry_after or 0.0)
