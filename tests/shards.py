"""Runs the suite as several pytest processes at once (``make test``): most of its time is
spent waiting on services, brokers and databases, not on a core.

Each shard is a pytest process of its own, over whole test files, on a test system of its
own: ``ZD_TEST_SHARD`` gives it its own database and vhost (tests/conftest.py), so no shard
resets or consumes another's. Files go to the shards by their duration last measured,
``tests/shard_weights.json`` (a file not listed counts as its folder's average); each
shard's output is shown as it ends, then the counts of all of them in one line. A file
with a test marked ``alone`` (it changes the machine's broker for every test beside it,
as a memory alarm does, or times a service against the clock) runs after the shards, by
itself. ``--weights-out tests/shard_weights.json`` records the durations of a run.

    python tests/shards.py [-j N] [--weights-out FILE] [PATH ...] [-- PYTEST-ARGS ...]

PATHs (files or folders) default to the suite: tests/unit, tests/integration, tests/e2e.
The exit status is pytest's: 0 when every shard passed.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITE = ("tests/unit", "tests/integration", "tests/e2e")
WEIGHTS = ROOT / "tests" / "shard_weights.json"
COUNTED = ("failed", "passed", "skipped", "xfailed", "xpassed", "error", "errors")
DEFAULT_SHARDS = 2
ALONE = "pytest.mark.alone"


def test_files(paths):
    """The test files under ``paths``, relative to the project, in a stable order."""
    files = []
    for path in paths:
        path = (ROOT / path).resolve()
        found = [path] if path.is_file() else sorted(path.rglob("test_*.py"))
        files += [str(file.relative_to(ROOT)) for file in found]
    return list(dict.fromkeys(files))


def weight_of(file, weights):
    """The file's last measured seconds; else the average of those measured beside it."""
    if file in weights:
        return weights[file]
    folder = file.rsplit("/", 1)[0]
    while folder:
        near = [seconds for name, seconds in weights.items() if name.startswith(folder + "/")]
        if near:
            return sum(near) / len(near)
        folder = folder.rpartition("/")[0]
    return 1.0


def deal(files, weights, count):
    """``count`` lists of files of about equal total weight (the heaviest dealt first)."""
    shards = [[] for _ in range(count)]
    totals = [0.0] * count
    for file in sorted(files, key=lambda name: -weight_of(name, weights)):
        lightest = totals.index(min(totals))
        shards[lightest].append(file)
        totals[lightest] += weight_of(file, weights)
    return [(sorted(shard), total) for shard, total in zip(shards, totals, strict=True) if shard]


def counts_of(output):
    """The counts in pytest's closing line (``== 3 failed, 500 passed in 9.1s ==``)."""
    lines = [line for line in output.splitlines()
             if re.search(r"\b\d+ (passed|failed|errors?|skipped)\b.* in [\d.]+s\b", line)]
    counts = {}
    for number, word in re.findall(r"(\d+) (\w+)", lines[-1] if lines else ""):
        if word in COUNTED:
            word = "errors" if word == "error" else word
            counts[word] = counts.get(word, 0) + int(number)
    return counts


def file_seconds(junit_paths):
    """Seconds per test file, from the shards' JUnit reports."""
    seconds = {}
    for path in junit_paths:
        if not path.exists():
            continue
        for case in ET.parse(path).getroot().iter("testcase"):
            module = case.get("classname", "").split(".")
            # classname: tests.unit.x.test_y[.Class]; keep the part up to the test_ module
            parts = next(([*module[:i + 1]] for i, part in enumerate(module)
                          if part.startswith("test_")), None)
            if parts:
                name = "/".join(parts) + ".py"
                seconds[name] = seconds.get(name, 0.0) + float(case.get("time") or 0)
    return seconds


def collect(running, started):
    """Wait for every shard, showing each one's output as it ends; their exit statuses,
    and their counts added up."""
    statuses, totals = [], {}
    waiting = list(running)
    while waiting:
        for entry in list(waiting):
            number, process, log, _ = entry
            if process.poll() is None:
                continue
            waiting.remove(entry)
            output = log.read_text(errors="replace")
            print(f"\n{'#' * 30} shard {number}: exit {process.returncode},"
                  f" {time.monotonic() - started:.0f} s {'#' * 30}", flush=True)
            print(output, end="" if output.endswith("\n") else "\n", flush=True)
            statuses.append(process.returncode)
            for word, count in counts_of(output).items():
                totals[word] = totals.get(word, 0) + count
        time.sleep(0.2)
    return statuses, totals


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-j", "--shards", type=int,
                        default=int(os.environ.get("ZD_TEST_SHARDS", DEFAULT_SHARDS)))
    parser.add_argument("--weights-out", help="write each file's measured seconds here (JSON)")
    parser.add_argument("paths", nargs="*")
    argv = sys.argv[1:] if argv is None else argv
    pytest_args = argv[argv.index("--") + 1:] if "--" in argv else []
    options = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)

    weights = json.loads(WEIGHTS.read_text()) if WEIGHTS.exists() else {}
    files = test_files(options.paths or SUITE)
    alone = [file for file in files if ALONE in (ROOT / file).read_text(encoding="utf-8")]
    shards = deal([file for file in files if file not in alone], weights, max(1, options.shards))
    work = Path(tempfile.mkdtemp(prefix="zd-shards-"))
    started = time.monotonic()
    running = []

    def start(number, shard, total):
        log, junit = work / f"shard-{number}.log", work / f"shard-{number}.xml"
        env = {**os.environ, "ZD_TEST_SHARD": f"s{number % max(1, len(shards))}"}
        command = [sys.executable, "-m", "pytest", *pytest_args, f"--junitxml={junit}", *shard]
        print(f"shard {number}: {len(shard)} files, about {total:.0f} s last time", flush=True)
        with open(log, "wb") as out:
            running.append((number, subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                                     stderr=subprocess.STDOUT), log, junit))
        return running[-1:]

    try:
        for number, (shard, total) in enumerate(shards):
            start(number, shard, total)
        statuses, totals = collect(list(running), started)
        if alone:
            lone = start(len(shards), alone, sum(weight_of(file, weights) for file in alone))
            more, counted = collect(lone, started)
            statuses += more
            for word, count in counted.items():
                totals[word] = totals.get(word, 0) + count
    finally:  # interrupted: no shard goes on alone
        for _, process, *_ in running:
            if process.poll() is None:
                process.terminate()
    if options.weights_out:
        measured = file_seconds([junit for *_, junit in running])
        Path(options.weights_out).write_text(
            json.dumps({name: round(seconds, 1) for name, seconds in sorted(measured.items())},
                       indent=0) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    failed = [status for status in statuses if status not in (0, 5)]
    status = failed[0] if failed else (5 if all(status == 5 for status in statuses) else 0)
    print(f"\n{len(running)} shards in {time.monotonic() - started:.0f} s, exit {status}")
    print(summary(totals))
    return status


def summary(totals):
    """The shards' counts in one line: passed, failed (errors too), then any other kind."""
    broken = totals.get("failed", 0) + totals.get("errors", 0)
    others = "".join(f", {totals[kind]} {kind}" for kind in ("skipped", "xfailed", "xpassed")
                     if totals.get(kind))
    return f"tests: {totals.get('passed', 0)} passed, {broken} failed{others}"


if __name__ == "__main__":
    sys.exit(main())
