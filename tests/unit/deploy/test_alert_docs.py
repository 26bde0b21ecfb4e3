"""The operations guide's table of alerts (deploy/README.md, "What each alert means and what
to do") against the rules of deploy/prometheus/alerts.yml: one row per alert, its severity,
and when it fires: an age's threshold plus the rule's `for`."""
import re

import pytest
import yaml

from tests.support.system import ROOT

GUIDE = ROOT / "deploy" / "README.md"
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
#: the left side of a comparison that is an age, growing a second a second while the
#: problem lasts: its threshold counts in the time to fire
AGE = re.compile(r"(?:oldest_pending_seconds|overdue_seconds|replication_lag|time\(\) - [^>]*?)"
                 r"\)?\s*>\s*([\d.]+(?:\s*\*\s*[\d.]+)*)")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rules():
    return {rule["alert"]: rule for group in yaml.safe_load(RULES.read_text())["groups"]
            for rule in group["rules"] if "alert" in rule}


def guide_rows():
    """``{alert: (severity, fires after)}`` of the guide's table."""
    section = GUIDE.read_text().split("## What each alert means and what to do", 1)[1]
    section = section.split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 4:
            assert cells[0].strip("`") not in rows, f"{cells[0]} twice"
            rows[cells[0].strip("`")] = (cells[1], cells[2])
    return rows


def seconds(duration):
    """A Prometheus duration (``5m``, ``1h30m``) in seconds."""
    parts = re.findall(r"(\d+)([smhd])", duration)
    assert "".join(f"{n}{u}" for n, u in parts) == duration, duration
    return sum(int(n) * UNITS[u] for n, u in parts)


def stated(text):
    """The guide's ``fires after`` (``7 min``, ``3 h 15 min``, ``at once``) in seconds;
    None for ``always``."""
    if text == "always":
        return None
    if text == "at once":
        return 0
    parts = re.findall(r"(\d+) (h|min|s)\b", text)
    assert parts and " ".join(f"{n} {u}" for n, u in parts) == text, f"unreadable: {text!r}"
    return sum(int(n) * {"h": 3600, "min": 60, "s": 1}[u] for n, u in parts)


def fires_after(rule):
    """Seconds from the problem's start to the alert: an age's threshold plus ``for``."""
    if rule["expr"].strip() == "vector(1)":
        return None
    threshold = 0
    age = AGE.search(rule["expr"])
    if age:
        threshold = 1
        for factor in age.group(1).split("*"):
            threshold *= float(factor)
    return int(threshold) + seconds(rule.get("for", "0s"))


def test_every_alert_has_one_row_and_every_row_an_alert():
    assert set(guide_rows()) == set(rules())


@pytest.mark.parametrize("alert", sorted(rules()))
def test_the_guide_says_when_each_alert_fires_and_to_whom(alert):
    severity, when = guide_rows()[alert]
    rule = rules()[alert]
    assert severity == rule["labels"]["severity"]
    assert stated(when) == fires_after(rule), (
        f"{alert}: the guide says {when!r}; the rule fires after {fires_after(rule)} s")


def test_ages_count_in_the_time_to_fire():
    """OutboxStuck waits for the oldest message to be 120 s old, then 5 min: 7 min."""
    assert fires_after(rules()["ZeroDistanceOutboxStuck"]) == 7 * 60
    assert fires_after(rules()["ZeroDistancePersonalDataExpiryStopped"]) == 3 * 3600 + 15 * 60
    assert fires_after(rules()["ZeroDistanceDatabaseBackupTooOld"]) == 26 * 3600 + 15 * 60
    assert fires_after(rules()["ZeroDistanceServerErrors"]) == 10 * 60  # a share, not an age
    assert stated("3 h 15 min") == 11700 and stated("at once") == 0
