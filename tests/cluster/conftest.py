"""Keeps the cluster test out of ``make test``: it starts three RabbitMQ nodes of its own and
takes minutes, so it is collected only when ``ZD_CLUSTER_TEST`` is set (``make cluster-test``)."""
import os

collect_ignore_glob = [] if os.environ.get("ZD_CLUSTER_TEST") else ["test_*.py"]
