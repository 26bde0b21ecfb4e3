"""The benchmarks: tools that measure the system, not tests (pytest collects ``tests/``
only). ``make bench`` runs ``bench.throughput`` and ``bench.duplicates``,
``make bench-rebuild`` runs ``bench.rebuild``; ``make bench`` writes its figures to
``bench/results/``."""
