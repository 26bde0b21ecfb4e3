"""The Grafana setup in deploy/grafana: provisioning that finds the dashboards and the
data source, dashboards that parse, PromQL that asks only for metrics that exist (the
services' own, from their registry, RabbitMQ's, from rabbitmq_metrics.txt, or
kube-state-metrics' and KEDA's, from kubernetes_metrics.txt), panels that follow the
service filter, and the panels an on-call engineer needs for capacity."""
import json
import re
import shutil
import subprocess

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

from services.common import metrics, topology
from tests.support.system import ROOT

GRAFANA = ROOT / "deploy" / "grafana"
PROVISIONING = GRAFANA / "provisioning"
DASHBOARDS = GRAFANA / "dashboards"
PROMETHEUS = ROOT / "deploy" / "prometheus"

#: series Prometheus makes itself for every target, not exported by anyone
PROMETHEUS_SERIES = {"up"}

#: PromQL's functions, aggregations, keywords and Grafana's label_values
FUNCTIONS = {
    "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh",
    "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh",
    "count_over_time", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "deg",
    "delta", "deriv", "exp", "floor", "histogram_avg", "histogram_count", "histogram_fraction",
    "histogram_quantile", "histogram_stddev", "histogram_stdvar", "histogram_sum", "holt_winters",
    "hour", "idelta", "increase", "irate", "label_join", "label_replace", "last_over_time", "ln",
    "log10", "log2", "mad_over_time", "max_over_time", "min_over_time", "minute", "month", "pi",
    "predict_linear", "present_over_time", "quantile_over_time", "rad", "rate", "resets", "round",
    "scalar", "sgn", "sin", "sinh", "sort", "sort_by_label", "sort_by_label_desc", "sort_desc",
    "sqrt", "stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh", "time",
    "timestamp", "vector", "year",
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk",
    "topk", "quantile", "limitk", "limit_ratio",
    "label_values",
}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
            "unless", "offset", "atan2", "inf", "nan"}

STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
GRAFANA_VARIABLES = re.compile(r"\$\{[^}]*\}|\$\w+")
LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
NUMBERS = re.compile(r"(?<![\w:])(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)"
                     r"(?:ms|[smhdwy])*(?![\w:])")
IDENTIFIERS = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
SELECTORS = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^{}]*)\}")
MATCHERS = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")
SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"],
            "summary": ["", "_sum", "_count"], "info": ["_info"], "gauge": [""]}
#: labels Prometheus adds to every series it scrapes
TARGET_LABELS = {"job", "instance"}
#: the labels that say which service a series is about: its own name, its queues
#: (zd.<service>.…), its outbox's schema, its Deployment and KEDA's objects for it
SERVICE_DIMENSIONS = {"service", "queue", "parked_in", "schema", "deployment",
                      "horizontalpodautoscaler", "scaledObject"}
SERVICE_VARIABLE = re.compile(r"\$(?:service\b|\{service[}:])")
OCCURRENCES = re.compile(r'([A-Za-z_:][A-Za-z0-9_:]*)\s*(\{(?:[^{}"]|"(?:[^"\\]|\\.)*")*\})?')
QUOTED_MATCHERS = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


def metric_names(expr):
    """The metric names a PromQL expression (or Grafana variable query) reads: what is
    left once strings, label matchers, ranges, label lists, numbers, functions and
    keywords are taken away."""
    text = GRAFANA_VARIABLES.sub(" ", STRINGS.sub(" ", expr))
    text = re.sub(r"\{[^{}]*\}", " ", text)
    text = re.sub(r"\[[^\[\]]*\]", " ", text)
    text = LABEL_LISTS.sub(" ", text)
    text = re.sub(r"\blabel_values\s*\(([^(),]*),[^()]*\)", r"(\1)", text)  # (metric, label)
    text = re.sub(r"\blabel_values\s*\([^(),]*\)", " ", text)  # (label) alone
    text = NUMBERS.sub(" ", text)
    return {name for name in IDENTIFIERS.findall(text) if name not in FUNCTIONS | KEYWORDS}


def exported_names():
    """Every series name the services' registry exposes: ``x_total`` for a counter ``x``,
    ``x_bucket``, ``x_sum`` and ``x_count`` for a histogram, and so on."""
    return {family.name + suffix for family in REGISTRY.collect()
            for suffix in SUFFIXES.get(family.type, [""])}


def rabbitmq_names():
    lines = (GRAFANA / "rabbitmq_metrics.txt").read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def kubernetes_metrics():
    """``{name: its labels}`` of kubernetes_metrics.txt."""
    lines = (GRAFANA / "kubernetes_metrics.txt").read_text().splitlines()
    return {name: set(labels) for name, *labels in
            (line.split() for line in lines if line.strip() and not line.startswith("#"))}


def unknown_metrics(expr, known):
    return metric_names(expr) - known


def label_names():
    """``{series name: its labels}`` for the services' metrics (from their declarations),
    the listed RabbitMQ ones (one series per queue) and Prometheus' ``up``."""
    labels = {name: {"vhost", "queue"} | TARGET_LABELS for name in rabbitmq_names()}
    labels["up"] = set(TARGET_LABELS)
    labels.update({name: found | TARGET_LABELS for name, found in kubernetes_metrics().items()})
    for collector in vars(metrics).values():
        if isinstance(collector, MetricWrapperBase):
            for family in collector.describe():
                for suffix in SUFFIXES[family.type]:
                    labels[family.name + suffix] = (set(collector._labelnames) | TARGET_LABELS
                                                    | ({"le"} if suffix == "_bucket" else set()))
    return labels


def misused_labels(expr, labels):
    """Labels an expression matches on or groups by that its metrics do not have."""
    text = GRAFANA_VARIABLES.sub(" ", STRINGS.sub('""', expr))
    wrong = {f"{name}{{{label}}}" for name, matchers in SELECTORS.findall(text)
             for label in MATCHERS.findall(matchers) if label not in labels.get(name, set())}
    present = set().union(*(labels.get(name, set()) for name in metric_names(expr)))
    grouped = {label for found in LABEL_LISTS.findall(text)
               for label in IDENTIFIERS.findall(found.split("(", 1)[1])}
    return wrong | {f"by/on ({label})" for label in grouped - present}


def unfiltered(expr, labels):
    """The metrics ``expr`` reads, somewhere in it, without the service filter although
    they have a dimension it applies to (``SERVICE_DIMENSIONS``): a selector with no
    ``=`` or ``=~`` matcher on such a label whose value names ``$service``."""
    names = metric_names(expr)
    found = set()
    for name, selector in OCCURRENCES.findall(expr):
        dimensions = labels.get(name, set()) & SERVICE_DIMENSIONS
        if name not in names or not dimensions:
            continue
        if not any(label in dimensions and operator in ("=", "=~") and SERVICE_VARIABLE.search(value)
                   for label, operator, value in QUOTED_MATCHERS.findall(selector)):
            found.add(name)
    return found


def dashboards():
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def all_panels(dashboard):
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def queries(dashboard):
    """``(where, expr)`` of every panel target and every query variable."""
    for panel in all_panels(dashboard):
        for target in panel.get("targets", []):
            yield f"panel {panel['id']} {panel['title']!r} {target.get('refId')}", target.get("expr")
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable["query"]
            yield f"variable {variable['name']}", query["query"] if isinstance(query, dict) else query


def provisioned_datasource():
    config = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yaml").read_text())
    (datasource,) = config["datasources"]
    return datasource


def test_every_json_file_parses():
    files = sorted(GRAFANA.rglob("*.json"))
    assert files
    for path in files:
        json.loads(path.read_text())


def panel_queries(dashboard):
    """``(where, expr)`` of every panel target (not the variables, which list the services)."""
    for panel in all_panels(dashboard):
        for target in panel.get("targets", []):
            yield f"panel {panel['id']} {panel['title']!r} {target.get('refId')}", target.get("expr")


def test_the_data_source_is_the_default_prometheus():
    datasource = provisioned_datasource()
    assert datasource["type"] == "prometheus"
    assert datasource["uid"] == "zd-prometheus"
    assert datasource["isDefault"] is True
    assert datasource["url"]


def test_the_dashboard_provider_loads_the_dashboard_folder():
    config = yaml.safe_load((PROVISIONING / "dashboards" / "zero-distance.yaml").read_text())
    (provider,) = config["providers"]
    assert provider["type"] == "file"
    path = provider["options"]["path"]
    assert path == "/var/lib/grafana/dashboards"
    # the operations guide's way of starting Grafana mounts the dashboard folder there
    assert f"deploy/grafana/dashboards:{path}" in (ROOT / "docs" / "operations.md").read_text()


def test_there_is_an_operations_dashboard():
    found = dashboards()
    assert "operations.json" in found
    assert len({dashboard["uid"] for dashboard in found.values()}) == len(found)


@pytest.mark.parametrize("name", sorted(path.name for path in DASHBOARDS.glob("*.json")))
def test_panels_have_unique_ids_and_the_provisioned_data_source(name):
    dashboard = dashboards()[name]
    uid = provisioned_datasource()["uid"]
    panels = list(all_panels(dashboard))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target.get("expr"), (panel["title"], target.get("refId"))
            assert target.get("datasource", {"uid": uid})["uid"] == uid, panel["title"]
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            assert variable["datasource"]["uid"] == uid, variable["name"]


@pytest.mark.parametrize("name", sorted(path.name for path in DASHBOARDS.glob("*.json")))
def test_panels_do_not_overlap(name):
    taken = {}
    for panel in dashboards()[name]["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in taken, (panel["title"], taken.get((x, y)))
                taken[(x, y)] = panel["title"]


@pytest.mark.parametrize("name", sorted(path.name for path in DASHBOARDS.glob("*.json")))
def test_dashboards_read_only_metrics_that_exist(name):
    known = exported_names() | rabbitmq_names() | set(kubernetes_metrics()) | PROMETHEUS_SERIES
    unknown = {where: sorted(unknown_metrics(expr, known)) for where, expr in queries(dashboards()[name])}
    assert not {where: names for where, names in unknown.items() if names}
    assert all(metric_names(expr) for _, expr in queries(dashboards()[name]))


@pytest.mark.parametrize("name", sorted(path.name for path in DASHBOARDS.glob("*.json")))
def test_dashboards_use_the_labels_their_metrics_have(name):
    labels = label_names()
    wrong = {where: sorted(misused_labels(expr, labels)) for where, expr in queries(dashboards()[name])}
    assert not {where: found for where, found in wrong.items() if found}


def test_a_wrong_label_is_reported():
    labels = label_names()
    assert misused_labels('sum by (service) (zd_outbox_pending{schema="routing"})', labels) == {
        "by/on (service)"}
    assert misused_labels('rate(zd_messages_parked_total{queue="zd.routing.events"}[5m])', labels) == {
        "zd_messages_parked_total{queue}"}
    assert misused_labels('sum by (channel, le) (rate(zd_notification_delivery_seconds_bucket'
                          '{channel=~"$channel"}[5m]))', labels) == set()


@pytest.mark.parametrize("name", sorted(path.name for path in DASHBOARDS.glob("*.json")))
def test_panels_follow_the_service_filter(name):
    """Choosing a service shows its own series: by its name, its queues, its outbox's
    schema or its Deployment, whichever the metric has."""
    labels = label_names()
    ignoring = {where: sorted(unfiltered(expr, labels))
                for where, expr in panel_queries(dashboards()[name])}
    assert not {where: found for where, found in ignoring.items() if found}


def names_of(service):
    """``{dimension: the values that are service's own}``: its queues and their parking
    queues by name, its schema, its Deployment and what KEDA makes for it."""
    queues = {queue.name for queue in (topology.SERVICE_QUEUES[service], topology.ROUTING_FEEDBACK)
              if queue.name.startswith(f"zd.{service}.")}
    queues |= {f"{name}.parked" for name in queues}
    return {"service": {service}, "queue": queues, "parked_in": queues, "schema": {service},
            "deployment": {f"zd-{service}"}, "horizontalpodautoscaler": {f"keda-hpa-zd-{service}"},
            "scaledObject": {f"zd-{service}"}}


def test_choosing_a_service_shows_its_own_series_and_no_other_services():
    """Each matcher on $service, with a service chosen as Grafana writes it into a regex,
    matches (anchored, as PromQL does) one of its names at least and none of the others'."""
    services = sorted(topology.SERVICE_QUEUES)
    checked = 0
    for where, expr in panel_queries(dashboards()["operations.json"]):
        for _, selector in OCCURRENCES.findall(expr):
            for label, operator, value in QUOTED_MATCHERS.findall(selector):
                if label not in SERVICE_DIMENSIONS or operator not in ("=", "=~") or (
                        not SERVICE_VARIABLE.search(value)):
                    continue
                for chosen in services:
                    regex = re.compile(SERVICE_VARIABLE.sub(chosen, value.replace("\\\\", "\\")))
                    own = names_of(chosen)[label]
                    others = set().union(*(names_of(other)[label] for other in services
                                           if other != chosen))
                    assert any(regex.fullmatch(name) for name in own), (where, chosen, value)
                    assert not [name for name in others if regex.fullmatch(name)], (where, chosen)
                    checked += 1
    assert checked > 100


def test_a_panel_that_ignores_the_service_filter_is_reported():
    labels = label_names()
    assert unfiltered("max by (schema) (zd_outbox_pending)", labels) == {"zd_outbox_pending"}
    assert unfiltered('max by (schema) (zd_outbox_pending{schema=~"$service|admin"})', labels) == set()
    queue = 'queue=~"zd[.]($service)[.].+"'
    assert unfiltered(f"sum(rabbitmq_detailed_queue_messages_ready{{vhost=~\"$vhost\", {queue}}})"
                      " / sum(rate(zd_messages_consumed_total[5m]))", labels) == {
        "zd_messages_consumed_total"}
    assert unfiltered('sum(rabbitmq_detailed_queue_consumers{vhost=~"$service"})', labels) == {
        "rabbitmq_detailed_queue_consumers"}, "a label that says nothing of the service"
    assert unfiltered('sum(zd_db_pool_connections{service!~"$service"})', labels) == {
        "zd_db_pool_connections"}
    assert unfiltered('kube_deployment_status_replicas{deployment=~"zd-${service:regex}"}',
                      labels) == set()
    assert unfiltered("sum by (channel) (rate(zd_notifications_sent_total[5m])) > bool 0"
                      " or up", labels) == set(), "no dimension of the service"


def test_the_dashboard_shows_processing_time_pool_saturation_p99_and_replicas():
    exprs = [expr for _, expr in panel_queries(dashboards()["operations.json"])]

    def shown(pattern):
        return any(re.search(pattern, expr) for expr in exprs)
    used = {name for expr in exprs for name in metric_names(expr)}
    pools = {"zd_db_pool_max_connections", "zd_db_pool_connections", "zd_db_pool_idle_connections",
             "zd_db_pool_requests_waiting"}
    assert pools <= used, pools - used
    assert shown(r"zd_db_pool_connections\{[^}]*\} - zd_db_pool_idle_connections\{[^}]*\}\)"
                 r" / \(zd_db_pool_max_connections"), "connections in use ÷ pool size"
    assert {"zd_message_processing_seconds_sum", "zd_message_processing_seconds_count",
            "zd_message_processing_seconds_bucket"} <= used
    for histogram in ("zd_http_request_seconds", "zd_message_processing_seconds",
                      "zd_notification_delivery_seconds"):
        assert shown(rf"histogram_quantile\(0\.99, sum by \((?:[a-z_]+, )*le\b[^)]*\)"
                     rf" \(rate\({histogram}_bucket\b"), f"p99 of {histogram}"
    assert set(kubernetes_metrics()) <= used, set(kubernetes_metrics()) - used



def row_of(dashboard, panel):
    """The title of the row ``panel`` sits under (the last row above it)."""
    rows = [row for row in dashboard["panels"] if row["type"] == "row"
            and row["gridPos"]["y"] <= panel["gridPos"]["y"]]
    return max(rows, key=lambda row: row["gridPos"]["y"])["title"]


def alert_threshold(name):
    """``(metric, threshold)`` of an alert of deploy/prometheus/alerts.yml written
    ``max(metric) > threshold``, or ``max by (labels) (metric) > threshold``."""
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    (expr,) = [rule["expr"] for group in rules["groups"] for rule in group["rules"]
               if rule.get("alert") == name]
    metric, threshold = re.fullmatch(r"max(?: by \([\w, ]+\) ?)?\((\w+)\) > (\d+)", expr.strip()).groups()
    return metric, float(threshold)


def test_the_dashboard_shows_notifications_overdue_beside_the_backlog():
    """The notifications due and not sent, count and age, in the Notifications row beside
    the backlog (waiting, back-off included), each saying which it is; the age's red line
    is where ZeroDistanceNotificationsDelayed pages."""
    dashboard = dashboards()["operations.json"]

    def reading(expr):
        return [panel for panel in all_panels(dashboard)
                if any(target["expr"] == expr for target in panel.get("targets", []))]
    backlog = reading("max(zd_notifications_pending)") + reading(
        "max(zd_notifications_oldest_pending_seconds)")
    count = reading("max(zd_notifications_overdue)")
    age = reading("max(zd_notifications_overdue_seconds)")
    assert backlog and count and age
    for panel in backlog + count + age:
        assert row_of(dashboard, panel) == "Notifications", panel["title"]
    for panel in count:
        assert panel["fieldConfig"]["defaults"]["unit"] == "short"
        assert "due" in panel["title"] and "back-off" in panel["description"], panel["title"]
    metric, threshold = alert_threshold("ZeroDistanceNotificationsDelayed")
    assert metric == "zd_notifications_overdue_seconds"
    for panel in age:
        assert panel["fieldConfig"]["defaults"]["unit"] == "s"
        assert "ZeroDistanceNotificationsDelayed" in panel["description"], panel["title"]
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert [step["value"] for step in steps if step["color"] == "red"] == [threshold]
    # the backlog's panels no longer claim the alert: it reads the overdue age, not theirs
    for panel in backlog:
        assert "back-off" in panel["description"], panel["title"]
        if "ZeroDistanceNotificationsDelayed" in panel["description"]:
            assert "overdue" in panel["description"], panel["title"]
    # the stat panels side by side in one line: waiting, oldest waiting, overdue, oldest overdue
    stats = sorted((panel for panel in backlog + count + age if panel["type"] == "stat"),
                   key=lambda panel: panel["gridPos"]["x"])
    assert len({panel["gridPos"]["y"] for panel in stats}) == 1
    assert [panel["targets"][0]["expr"] for panel in stats] == [
        "max(zd_notifications_pending)", "max(zd_notifications_oldest_pending_seconds)",
        "max(zd_notifications_overdue)", "max(zd_notifications_overdue_seconds)"]


def test_every_listed_rabbitmq_metric_is_used():
    used = {name for dashboard in dashboards().values() for _, expr in queries(dashboard)
            for name in metric_names(expr)}
    listed = rabbitmq_names()
    assert listed and all(name.startswith("rabbitmq_") for name in listed)
    assert listed <= used, listed - used


def test_a_misspelt_metric_is_reported():
    known = exported_names()
    assert unknown_metrics("rate(zd_http_requests_totl[5m])", known) == {"zd_http_requests_totl"}
    assert unknown_metrics("rate(zd_http_requests_total[5m])", known) == set()
    assert unknown_metrics("sum by (service) (zd_up_total)", known) == {"zd_up_total"}


def test_names_are_found_among_functions_labels_strings_and_variables():
    expr = ('histogram_quantile(0.95, sum by (service, le) (rate(zd_http_request_seconds_bucket'
            '{service=~"$service", route!="/health"}[$__rate_interval] offset 1h)))'
            ' / on (service) group_left ignoring(route) max without (instance) (zd_up{x="a b"})'
            ' > 1e3 unless vector(0) and sum(x_y:z[5m:30s]) or ${service}')
    assert metric_names(expr) == {"zd_http_request_seconds_bucket", "zd_up", "x_y:z"}
    assert metric_names("label_values(zd_http_requests_total{service!=''}, service)") == {
        "zd_http_requests_total"}
    assert metric_names("label_values(service)") == set()
    assert metric_names("zd_ticket_stage_seconds_count") <= exported_names()


def test_every_expression_is_valid_promql(tmp_path):
    """promtool parses each expression as a recording rule, Grafana's variables replaced."""
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: `make test` installs Debian's prometheus package"
    rules = []
    for dashboard in dashboards().values():
        for where, expr in queries(dashboard):
            variable = re.fullmatch(r"label_values\((.*),\s*\w+\)", expr)
            expr = variable.group(1) if variable else expr  # a variable's selector
            expr = re.sub(r"\$__\w+", "5m", expr)
            expr = GRAFANA_VARIABLES.sub("x", expr)
            rules.append({"record": f"dashboard:rule_{len(rules)}", "expr": expr,
                          "labels": {"where": where}})
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    checked = subprocess.run([tool, "check", "rules", "rules.yml"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_scrape_config_is_valid():
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: `make test` installs Debian's prometheus package"
    checked = subprocess.run([tool, "check", "config", "prometheus.yml"], cwd=PROMETHEUS,
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
