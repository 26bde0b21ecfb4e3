"""The Prometheus alert rules in deploy/prometheus: valid, tested, and about metrics
the services really export."""
import re
import shutil
import subprocess

import yaml
from prometheus_client.metrics import MetricWrapperBase

from services.common import metrics
from tests.support.system import ROOT

RULES = ROOT / "deploy" / "prometheus"


def promtool(*arguments):
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: `make test` installs Debian's prometheus package"
    return subprocess.run([tool, *arguments], cwd=RULES, capture_output=True, text=True,
                          timeout=60)


def test_rules_are_valid():
    checked = promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_alerts_fire_when_they_should_and_only_then():
    tested = promtool("test", "rules", "alerts_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_alerts_use_only_metrics_the_services_export():
    exported = {family.name for collector in vars(metrics).values()
                if isinstance(collector, MetricWrapperBase) for family in collector.describe()}
    exported |= {f"{name}_total" for name in exported}
    rules = yaml.safe_load((RULES / "alerts.yml").read_text())["groups"][0]["rules"]
    used = {name for rule in rules for name in re.findall(r"\b(zd_[a-z_]+)", rule["expr"])}
    assert used and used <= exported, used - exported


def test_alerts_use_only_rabbitmq_metrics_the_broker_serves():
    """The RabbitMQ metrics of deploy/grafana/rabbitmq_metrics.txt are the ones
    tests/integration/deploy finds on the live broker, at the path Prometheus scrapes."""
    listed = {line.strip() for line in
              (ROOT / "deploy" / "grafana" / "rabbitmq_metrics.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    rules = yaml.safe_load((RULES / "alerts.yml").read_text())["groups"][0]["rules"]
    used = {name for rule in rules for name in re.findall(r"\b(rabbitmq_[a-z_]+)", rule["expr"])}
    assert used and used <= listed, used - listed
