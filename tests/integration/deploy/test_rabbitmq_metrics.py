"""The RabbitMQ metrics the dashboards read (deploy/grafana/rabbitmq_metrics.txt) are
served by the local broker's Prometheus plugin, per queue, at the path and with the
parameters the ``rabbitmq`` scrape job of deploy/prometheus/prometheus.yml uses; the node
metrics the alerts read (deploy/prometheus/rabbitmq_node_metrics.txt) at the path of its
``rabbitmq-node`` job.

Works in a throwaway vhost of its own, deleted afterwards; never touches another.
"""
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
import yaml
from kombu import Connection, Queue
from prometheus_client.parser import text_string_to_metric_families

from services.admin.rabbit_management import RabbitManagement
from services.common.config import settings
from tests.support.system import ROOT

LISTED = ROOT / "deploy" / "grafana" / "rabbitmq_metrics.txt"
NODE_LISTED = ROOT / "deploy" / "prometheus" / "rabbitmq_node_metrics.txt"
SCRAPE_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"


def listed_names(listed=LISTED):
    lines = listed.read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def scrape_job(name="rabbitmq"):
    """``(url, params)`` of the job ``name``, as Prometheus would ask for them."""
    jobs = yaml.safe_load(SCRAPE_CONFIG.read_text())["scrape_configs"]
    (job,) = [job for job in jobs if job["job_name"] == name]
    (target,) = job["static_configs"][0]["targets"]
    return f"http://{target}{job.get('metrics_path', '/metrics')}", job.get("params", {})


def samples_of(vhost):
    """``{metric name: {queue: value}}`` of ``vhost``'s queues, scraped as the job does."""
    url, params = scrape_job()
    try:
        answer = requests.get(url, params=params, timeout=10)
    except requests.ConnectionError:
        pytest.fail(f"{url} does not answer: deploy/ensure-infra.sh enables rabbitmq_prometheus")
    answer.raise_for_status()
    found = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.labels.get("vhost") == vhost:
                found.setdefault(sample.name, {})[sample.labels.get("queue")] = sample.value
    return found


@pytest.fixture
def probe_queue():
    """A quorum queue (as every queue of the system is) holding one message, in a vhost
    made for this test alone."""
    vhost = f"zd_grafana_probe_{uuid.uuid4().hex[:8]}"
    rabbit = RabbitManagement(settings().management_url)
    rabbit.ensure_vhost(vhost)
    try:
        parts = urlsplit(settings().amqp_uri)
        with Connection(urlunsplit((parts.scheme, parts.netloc, f"/{vhost}", "", ""))) as connection:
            queue = Queue("zd.probe.events", durable=True, queue_arguments={"x-queue-type": "quorum"})
            queue(connection.channel()).declare()
            connection.Producer().publish({"probe": True}, routing_key=queue.name, exchange="",
                                          serializer="json", retry=True)
        yield vhost, queue.name
    finally:
        rabbit.delete_vhost(vhost)


def test_the_scrape_job_asks_for_per_queue_metrics():
    url, params = scrape_job()
    assert url.endswith("/metrics/detailed") and params.get("family"), (url, params)


def test_every_listed_metric_has_a_sample_for_each_queue(probe_queue):
    vhost, queue = probe_queue
    names = listed_names()
    assert names
    deadline = time.monotonic() + 60  # queues report their figures every few seconds
    while True:
        found = samples_of(vhost)
        missing = sorted(name for name in names if queue not in found.get(name, {}))
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert not missing, f"no sample for {queue} in {vhost}: {missing}"
    assert found["rabbitmq_detailed_queue_messages_ready"][queue] == 1
    assert found["rabbitmq_detailed_queue_messages_unacked"][queue] == 0


def test_every_listed_node_metric_is_served_where_the_node_job_scrapes():
    """Each node metric the alerts read is a family the plugin serves (the distribution
    links' state has samples only on a node with peers); the alarms are 0 on a healthy
    node."""
    url, params = scrape_job("rabbitmq-node")
    try:
        answer = requests.get(url, params=params, timeout=10)
    except requests.ConnectionError:
        pytest.fail(f"{url} does not answer: deploy/ensure-infra.sh enables rabbitmq_prometheus")
    answer.raise_for_status()
    families = {family.name: family for family in text_string_to_metric_families(answer.text)}
    names = listed_names(NODE_LISTED)
    assert names and not names - set(families), sorted(names - set(families))
    for alarm in ("rabbitmq_alarms_memory_used_watermark",
                  "rabbitmq_alarms_free_disk_space_watermark"):
        assert [sample.value for sample in families[alarm].samples] == [0]
    (identity,) = families["rabbitmq_identity_info"].samples
    assert identity.labels["rabbitmq_cluster"] and identity.value == 1


def test_the_queue_job_serves_the_nodes_identity_too():
    """Both jobs scrape the same node and both answers carry rabbitmq_identity_info: the
    partition alert must read it of one job (rabbitmq-node), or its join is many-to-many."""
    url, params = scrape_job()
    answer = requests.get(url, params=params, timeout=10)
    answer.raise_for_status()
    families = {family.name: family for family in text_string_to_metric_families(answer.text)}
    (identity,) = families["rabbitmq_identity_info"].samples
    assert identity.value == 1
    # which tests/unit/deploy/test_alert_rules.py checks of every expression
    assert 'rabbitmq_identity_info{job="rabbitmq-node"}' in (
        ROOT / "deploy" / "prometheus" / "alerts.yml").read_text()
