# Zero Distance: `make run` starts the whole system, `make test` tests it.
# See README.md. Everything installs itself into .venv on first use.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SERVICES := intake routing notify reporting

.PHONY: install infra tools setup run test unit lint bench bench-rebuild bench-duplicates bench-categories evaluate-categories cluster-test $(addprefix run-,$(SERVICES))

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -c constraints.txt -e '.[test,devstack]'
	touch $@

install: $(VENV)/.installed

infra:
	deploy/ensure-infra.sh

# promtool, to test the alert rules in deploy/prometheus (Debian's prometheus package), amtool,
# to test the Alertmanager config in deploy/alertmanager (prometheus-alertmanager), and
# headless Chromium with its driver and Chinese fonts, to test the dashboard
tools:
	@command -v promtool >/dev/null && command -v amtool >/dev/null && command -v chromedriver >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus prometheus-alertmanager chromium chromium-driver fonts-noto-cjk >/dev/null; }

# migrations, topology, directory (ZD_DIRECTORY), demo keys and department users
setup: install infra
	$(PY) -m services.admin migrate
	$(PY) -m services.admin directory load
	$(PY) -m services.admin demo-credentials --keys var/demo-keys.json --amqp-users var/demo-amqp-users.json

run: setup
	$(PY) -m services.devstack

$(addprefix run-,$(SERVICES)): run-%: install infra
	$(PY) -m services.admin migrate
	$(PY) -m services.$*

# the suite as shards run at once, each a pytest process on its own database and vhost
# (tests/shards.py; ZD_TEST_SHARDS, default 2): it waits on services more than it computes
test: install infra tools lint
	$(PY) tests/shards.py

lint: install
	$(VENV)/bin/ruff check .

unit: install tools
	$(PY) -m pytest tests/unit

# the whole loop's throughput and latency at fixed rates, scaled out, and the two floors;
# notify's courier alone; the database round trips per concern; then the likely-duplicate
# search over 100,000 open tickets; choosing a category (docs/performance.md)
bench: install infra
	$(PY) -m bench.throughput
	$(PY) -m bench.courier
	$(PY) -m bench.round_trips
	$(PY) -m bench.duplicates
	$(PY) -m bench.categories

# reporting's read model rebuilt from 100,000 tickets' events (ZD_BENCH_TICKETS), and the
# overdue and hot-topic reports over them
bench-rebuild: install infra
	$(PY) -m bench.rebuild

# finding a new concern's likely duplicate among 100,000 open tickets (ZD_BENCH_TICKETS)
bench-duplicates: install infra
	$(PY) -m bench.duplicates

# choosing a concern's category, the keywords alone and with a model trained on the corpus
bench-categories: install
	$(PY) -m bench.categories

# the keywords alone, a model alone and both on the project's corpus of residents' texts
evaluate-categories: install
	$(PY) -m services.routing.learning evaluate

# three RabbitMQ nodes of their own in one cluster (never the machine's own node), the four
# services failing over when one node stops under load (tests/cluster; not part of `make test`)
cluster-test: install infra
	ZD_CLUSTER_TEST=1 $(PY) -m pytest -q -p no:cacheprovider tests/cluster
