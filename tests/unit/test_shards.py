"""The suite's shards (tests/shards.py) read each shard's closing line and add them up in
the one line `make test` ends with: nothing counted is left out of it."""
from tests.shards import counts_of, summary


def test_each_shards_closing_line_is_counted_and_the_sum_names_every_kind():
    shards = [
        "...\n===== 895 passed, 1 xfailed, 4 warnings in 504.28s (0:08:24) =====\n",
        "===== 2 failed, 1430 passed, 1 error, 3 skipped in 491.41s =====\n",
        "===== 4 passed, 1 xpassed in 23.0s =====\n",
    ]
    totals = {}
    for output in shards:
        for kind, number in counts_of(output).items():
            totals[kind] = totals.get(kind, 0) + number
    assert totals == {"passed": 2329, "xfailed": 1, "failed": 2, "errors": 1, "skipped": 3,
                      "xpassed": 1}
    assert summary(totals) == "tests: 2329 passed, 3 failed, 3 skipped, 1 xfailed, 1 xpassed"


def test_a_shard_that_ran_nothing_counts_nothing():
    assert counts_of("no tests ran in 0.01s\n") == {}
    assert summary({}) == "tests: 0 passed, 0 failed"
