"""Counting the round trips to PostgreSQL that a pool's connections make: libpq traces
every message each connection sends (F) and receives (B), and a round trip is one turn
from sending to receiving. For the tests and benchmarks that state how many a piece of
work costs; a figure that does not depend on the machine's load."""
import tempfile

from psycopg import pq


class RoundTrips:
    """Give ``configure`` to a pool (``make_pool(..., configure=counter.configure)``);
    ``count()`` tells the round trips its connections made since ``reset()``."""

    def __init__(self):
        self.traces = []

    def configure(self, conn):
        trace = tempfile.TemporaryFile()
        conn.pgconn.trace(trace.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        self.traces.append((conn, trace))

    def reset(self):
        for _, trace in self.traces:
            trace.seek(0)
            trace.truncate()

    def count(self):
        turns = 0
        for _, trace in self.traces:
            trace.seek(0)
            sending = False
            for line in trace.read().splitlines():
                if line.startswith(b"F\t"):
                    sending = True
                elif line.startswith(b"B\t") and sending:
                    turns += 1
                    sending = False
            trace.seek(0, 2)
        return turns
