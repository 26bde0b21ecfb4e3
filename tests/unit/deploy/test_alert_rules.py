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
    """Every rule: the alerts, and the recording rules some of them read."""
    return [rule for group in yaml.safe_load((RULES / "alerts.yml").read_text())["groups"]
            for rule in group["rules"]]


def recorded():
    return {rule["record"] for rule in rules() if "record" in rule}


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
    known |= recorded()
    used = {name: rule.get("alert", rule.get("record")) for rule in rules()
            for name in metric_names(rule["expr"])}
    assert "cnpg_backends_total" in used and "kube_pod_container_status_restarts_total" in used
    unknown = {name: alert for name, alert in used.items() if name not in known}
    assert not unknown, unknown


def test_the_metric_names_found_in_an_expression_are_its_metrics():
    assert metric_names(
        'sum by (namespace, pod) (cnpg_backends_total{state="idle"}) / on (pod) '
        'max(cnpg_pg_settings_setting{name="max_connections"}[5m]) > 0.8 * 3600 and '
        'absent(up{job="zero-distance"}) or vector(1)') == {
            "cnpg_backends_total", "cnpg_pg_settings_setting", "up"}


#: PromQL's aggregations: each drops every label its `by (...)` does not name
AGGREGATIONS = r"\b(?:sum|min|max|avg|count|group|stddev|stdvar|topk|bottomk|quantile|count_values)"


def label_lists(expr, keyword):
    """The label lists of ``keyword (a, b)`` in ``expr``, as sets."""
    return [{name.strip() for name in names.split(",")}
            for names in re.findall(rf"\b{keyword}\s*\(([^)]*)\)", expr)]


def keeps_namespace(rule):
    """Whether every alert ``rule`` makes carries a namespace label: given by the rule, or
    kept by every aggregation (by) and one-to-one match (on) of its expression, which has no
    absent() nor vector() (their results carry no series' labels)."""
    if "namespace" in rule.get("labels", {}):
        return True
    expr = rule["expr"]
    if re.search(r"\b(?:absent|absent_over_time|vector|scalar)\s*\(", expr):
        return False
    if re.search(rf"{AGGREGATIONS}\s*\(", expr) or re.search(r"\bwithout\s*\(", expr):
        return False  # an aggregation without `by`, or one `without` a list
    return all("namespace" in names for keyword in ("by", "on") for names in label_lists(expr, keyword))


def test_every_alert_carries_the_namespace_the_operators_alertmanager_routes_on():
    """The Prometheus Operator restricts an AlertmanagerConfig's routes and inhibitions to
    alerts with namespace="zero-distance": an alert without the label reaches no receiver."""
    lost = [rule.get("alert", rule.get("record")) for rule in rules() if not keeps_namespace(rule)]
    assert not lost, lost
    for rule in rules():
        assert rule.get("labels", {}).get("namespace", "zero-distance") == "zero-distance", rule
    assert keeps_namespace({"expr": "max by (namespace, queue) (x) > 0 and on (namespace) y"})
    assert not keeps_namespace({"expr": "max(x) > 0"})
    assert not keeps_namespace({"expr": "sum by (service) (x) / sum by (service) (y)"})
    assert not keeps_namespace({"expr": "x / on (pod) y"})
    assert not keeps_namespace({"expr": 'absent(up{job="a"})', "labels": {"severity": "page"}})
    assert keeps_namespace({"expr": "vector(1)", "labels": {"namespace": "zero-distance"}})


def test_the_partition_alert_reads_the_identity_of_the_node_job_only():
    """/metrics/detailed (job rabbitmq) serves rabbitmq_identity_info as well as /metrics (job
    rabbitmq-node), for the same instance: a join over both is many-to-many, and fails."""
    (rule,) = [rule for rule in rules() if rule.get("alert") == "ZeroDistanceBrokerPartitioned"]
    read = re.findall(r"\b(rabbitmq_identity_info|erlang_vm_dist_node_state)(\{[^}]*\})?",
                      rule["expr"])
    assert read and all(matchers == '{job="rabbitmq-node"}' for _, matchers in read), read


def test_the_recording_rules_are_evaluated_before_the_alerts_that_read_them():
    """Rules of one group run in order, and promtool evaluates the groups in order: the
    objective's shares come first, so an alert reads the ones of its own evaluation."""
    groups = yaml.safe_load((RULES / "alerts.yml").read_text())["groups"]
    first_alert = next(index for index, group in enumerate(groups)
                       if any("alert" in rule for rule in group["rules"]))
    records = {rule["record"]: index for index, group in enumerate(groups)
               for rule in group["rules"] if "record" in rule}
    read = {name for rule in rules() if "alert" in rule for name in metric_names(rule["expr"])
            if name in records}
    assert read == {f"zd:intake_concern_posts_bad:ratio_rate{window}"
                    for window in ("5m", "30m", "1h", "6h", "3d")}
    assert all(records[name] < first_alert for name in read)
