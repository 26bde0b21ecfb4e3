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
    tested = promtool("test", "rules", "alerts_test.yml", "alerts_long_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_alerts_use_only_metrics_the_services_export():
    exported = {family.name for collector in vars(metrics).values()
                if isinstance(collector, MetricWrapperBase) for family in collector.describe()}
    exported |= {f"{name}{suffix}" for name in exported
                 for suffix in ("_total", "_bucket", "_count", "_sum")}
    used = {name for rule in rules() for name in re.findall(r"\b(zd_[a-z_]+)", rule["expr"])}
    assert used and used <= exported, used - exported


def listed(path):
    return {line.strip() for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")}


def test_alerts_use_only_rabbitmq_metrics_the_broker_serves():
    """The RabbitMQ metrics of deploy/grafana/rabbitmq_metrics.txt (per queue, job
    `rabbitmq`) and deploy/prometheus/rabbitmq_node_metrics.txt (per node, job
    `rabbitmq-node`) are the ones tests/integration/deploy finds on the live broker, at the
    paths Prometheus scrapes."""
    served = (listed(ROOT / "deploy" / "grafana" / "rabbitmq_metrics.txt")
              | listed(RULES / "rabbitmq_node_metrics.txt"))
    used = {name for rule in rules() for name in metric_names(rule["expr"])
            if name.startswith(("rabbitmq_", "erlang_vm_"))}
    assert used and used <= served, used - served


def rules():
    return yaml.safe_load((RULES / "alerts.yml").read_text())["groups"][0]["rules"]


#: PromQL's words that are not metrics
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
                "unless", "bool", "offset", "inf", "nan"}


def metric_names(expr):
    """The metrics an expression reads: its identifiers less functions, label lists and
    matchers, strings, durations and PromQL's own words."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings (label values, regexes)
    expr = re.sub(r"\{[^}]*\}", "", expr)  # matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = re.findall(r"(?<![\w.])([a-zA-Z_:][\w:]*)\b(?!\s*\()", expr)
    return {name for name in names if name.lower() not in PROMQL_WORDS}


def test_every_metric_a_rule_reads_is_listed_or_exported():
    """A rule reading a name nothing serves never fires: each metric is the services' own,
    Prometheus' `up`, or in the list of what RabbitMQ, CloudNativePG or kube-state-metrics
    serve."""
    exported = {family.name for collector in vars(metrics).values()
                if isinstance(collector, MetricWrapperBase) for family in collector.describe()}
    histograms = {f"{name}{suffix}" for name in exported for suffix in ("_bucket", "_count", "_sum")}
    known = (exported | {f"{name}_total" for name in exported} | histograms | {"up"}
             | listed(ROOT / "deploy" / "grafana" / "rabbitmq_metrics.txt")
             | listed(RULES / "rabbitmq_node_metrics.txt") | listed(RULES / "cnpg_metrics.txt")
             | listed(RULES / "kube_state_metrics.txt"))
    used = {name: rule["alert"] for rule in rules() for name in metric_names(rule["expr"])}
    assert "cnpg_backends_total" in used and "kube_pod_container_status_restarts_total" in used
    unknown = {name: alert for name, alert in used.items() if name not in known}
    assert not unknown, unknown


def test_the_metric_names_found_in_an_expression_are_its_metrics():
    assert metric_names(
        'sum by (namespace, pod) (cnpg_backends_total{state="idle"}) / on (pod) '
        'max(cnpg_pg_settings_setting{name="max_connections"}[5m]) > 0.8 * 3600 and '
        'absent(up{job="zero-distance"}) or vector(1)') == {
            "cnpg_backends_total", "cnpg_pg_settings_setting", "up"}
