"""zd_http_request_seconds by method and answer class: what intake's latency objective
(deploy/prometheus/alerts.yml) tells apart, a POST from a GET on one route, a 2xx from a 5xx."""
from prometheus_client import REGISTRY

from services.common import metrics

ROUTE = "/test/request-metrics"


def bucket(method, status_class, le="1.0"):
    return REGISTRY.get_sample_value("zd_http_request_seconds_bucket", {
        "service": "intake", "method": method, "route": ROUTE, "status_class": status_class,
        "le": le}) or 0.0


def test_a_request_is_timed_under_its_method_and_its_answers_class():
    before = {key: bucket(*key) for key in (("POST", "2xx"), ("POST", "5xx"), ("GET", "2xx"))}
    metrics.observe_request("intake", "POST", ROUTE, 202, 0.2)
    metrics.observe_request("intake", "POST", ROUTE, 202, 1.5)
    metrics.observe_request("intake", "POST", ROUTE, 503, 0.01)
    metrics.observe_request("intake", "GET", ROUTE, 200, 0.1)
    assert bucket("POST", "2xx") - before["POST", "2xx"] == 1.0  # the slow one is over 1 s
    assert bucket("POST", "2xx", "+Inf") >= 2.0
    assert bucket("POST", "5xx") - before["POST", "5xx"] == 1.0
    assert bucket("GET", "2xx") - before["GET", "2xx"] == 1.0
