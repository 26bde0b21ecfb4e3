"""The Alertmanager config of deploy/alertmanager: valid (amtool), each severity of the
alert rules routed to its receiver, the inhibitions about alerts that exist, and its
placeholders marked."""
import re
import shutil
import subprocess

import pytest
import yaml

from tests.support.system import ROOT

CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
#: who hears of each severity the rules give
RECEIVERS = {"page": "on-call", "ticket": "ticket", "office": "liaison-office"}


def amtool(*arguments):
    tool = shutil.which("amtool")
    assert tool, "amtool is missing: `make tools` installs Debian's prometheus-alertmanager"
    return subprocess.run([tool, *arguments], capture_output=True, text=True, timeout=60)


def rules():
    """The alerting rules (the recording rules' group aside)."""
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"]
            for rule in group["rules"] if "alert" in rule]


def config():
    return yaml.safe_load(CONFIG.read_text())


def routed(**labels):
    """The receivers amtool routes an alert with ``labels`` to."""
    answer = amtool("config", "routes", "test", f"--config.file={CONFIG}",
                    *(f"{name}={value}" for name, value in labels.items()))
    assert answer.returncode == 0, answer.stdout + answer.stderr
    return answer.stdout.strip().split(",")


def test_the_config_is_valid():
    checked = amtool("check-config", str(CONFIG))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("severity", sorted(RECEIVERS))
def test_each_severity_reaches_its_receiver(severity):
    alerts = [rule for rule in rules() if rule["labels"]["severity"] == severity]
    assert alerts, f"no rule of severity {severity}"
    assert routed(alertname=alerts[0]["alert"], severity=severity) == [RECEIVERS[severity]]


def test_only_the_severity_routes_but_for_the_watchdog():
    """No route names another alert: each alert of a severity goes where its first went."""
    matchers = [matcher for route in config()["route"]["routes"] for matcher in route["matchers"]]
    assert [m for m in matchers if not m.startswith("severity=")] == [
        'alertname="ZeroDistanceWatchdog"']
    assert "routes" not in str(config()["route"]["routes"])


def test_every_rule_has_a_severity_that_is_routed():
    severities = {rule["labels"]["severity"] for rule in rules()}
    assert severities == set(RECEIVERS) | {"none"}


def test_the_watchdog_reaches_the_dead_mans_switch_every_minute():
    (watchdog,) = [rule for rule in rules() if rule["alert"] == "ZeroDistanceWatchdog"]
    assert watchdog["expr"] == "vector(1)" and watchdog["labels"]["severity"] == "none"
    assert routed(alertname="ZeroDistanceWatchdog", severity="none") == ["deadmans-switch"]
    (route,) = [route for route in config()["route"]["routes"]
                if route["receiver"] == "deadmans-switch"]
    assert route["repeat_interval"] == "1m"


def test_an_alert_of_unknown_severity_becomes_a_ticket():
    assert routed(alertname="SomethingNew") == ["ticket"]


def test_the_inhibitions_name_alerts_that_exist_and_labels_they_carry():
    names = {rule["alert"] for rule in rules()}
    inhibitions = config()["inhibit_rules"]
    for inhibition in inhibitions:
        for side in ("source_matchers", "target_matchers"):
            (matcher,) = inhibition[side]
            pattern = re.fullmatch(r'alertname=~?"([^"]+)"', matcher).group(1)
            matched = {name for name in names if re.fullmatch(pattern, name)}
            assert matched and len(matched) == len(pattern.split("|")), (matcher, matched)
    pairs = {(source, target) for inhibition in inhibitions
             for source in re.findall(r"ZeroDistance\w+", inhibition["source_matchers"][0])
             for target in re.findall(r"ZeroDistance\w+", inhibition["target_matchers"][0])}
    assert ("ZeroDistanceBrokerPartitioned", "ZeroDistanceQueueWithoutConsumer") in pairs
    # one node of three down leaves the queues served by the others: a queue without consumer
    # then is a page of its own, not hidden behind it
    assert not [pair for pair in pairs if pair[0] == "ZeroDistanceBrokerNodeDown"], pairs
    assert ("ZeroDistanceBrokerMemoryAlarm", "ZeroDistanceOutboxBrokerBlocked") in pairs
    (service_down,) = [inhibition for inhibition in inhibitions
                       if inhibition["target_matchers"] == ['alertname="ZeroDistanceDependencyDown"']]
    assert service_down["source_matchers"] == ['alertname="ZeroDistanceServiceDown"']
    assert service_down["equal"] == ["instance"]


def test_the_receivers_are_marked_placeholders():
    text = CONFIG.read_text()
    for receiver in config()["receivers"]:
        for url in re.findall(r"https://\S+", yaml.safe_dump(receiver)):
            assert "example.org" in url and "CHANGE-ME" in url, url
    assert "PLACEHOLDER" in text


def test_the_make_run_prometheus_sends_its_alerts_to_the_alertmanager_beside_it():
    """docs/operations.md starts Alertmanager beside `make run` on its default port: the
    Prometheus of deploy/prometheus/prometheus.yml must send it the alerts."""
    prometheus = ROOT / "deploy" / "prometheus" / "prometheus.yml"
    (manager,) = yaml.safe_load(prometheus.read_text())["alerting"]["alertmanagers"]
    assert [target for static in manager["static_configs"] for target in static["targets"]] == [
        "127.0.0.1:9093"]
    assert "127.0.0.1:9093" in (ROOT / "docs" / "operations.md").read_text()
    checked = subprocess.run([shutil.which("promtool"), "check", "config", str(prometheus)],
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_inhibition_holds_back_only_alerts_about_the_same_thing():
    """Without `equal`, a source alert anywhere holds back every target alert: one node down
    would hide every queue's page, one namespace's alarm another's."""
    for inhibition in config()["inhibit_rules"]:
        assert inhibition.get("equal"), inhibition
