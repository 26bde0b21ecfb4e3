"""deploy/compose.yaml, checked offline: the Compose specification's schema, pinned images,
a health-gated start order, mounts that exist, ports and scrape targets that are the
services' own, and each container given every variable its code reads
(services.common.config.VARIABLES) and no other, with credentials that agree between the
jobs that create the roles and users and the services that use them."""
import base64
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from services.admin.cli import parser as admin_parser
from services.admin.definitions import DEPLOYED_RABBITMQ_VERSION
from services.common.config import DEFAULT_PORTS, SERVICES, VARIABLES

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
SCHEMA = DEPLOY / "schemas" / "compose-spec.json"
KNOWN = {variable.name: variable for variable in VARIABLES}
#: the image's own variable: which service the container runs (its CMD and HEALTHCHECK)
IMAGE_VARIABLES = {"ZD_SERVICE"}
ADMIN = "admin"
APP = PurePosixPath("/app")  # the image's WORKDIR: the repository's layout
JOBS = {"migrate": ["deploy"],
        "rabbitmq-definitions": ["rabbitmq-definitions", "--keep-department-passwords", "--out",
                                 "/app/var/definitions.json"]}
#: what the upstream images listen on
UPSTREAM_PORTS = {"rabbitmq": {5672, 15672, 15692}, "postgres": {5432}, "prom/prometheus": {9090},
                  "prom/alertmanager": {9093}, "grafana/grafana": {3000}}
RABBITMQ_PROMETHEUS_PORT = 15692
#: the RabbitMQ the cluster runs: a supported series (4.2, as in Kubernetes), pinned by digest
RABBITMQ_IMAGE = re.compile(r"rabbitmq:4\.2(\.\d+)?-management@sha256:[0-9a-f]{64}")


@functools.cache
def compose():
    """The Compose file as Compose reads it (anchors and merge keys resolved); read once,
    and never changed by the tests."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


def services():
    return compose()["services"]


def ours(definition):
    return "build" in definition


def service_containers():
    """``{container: service}`` of the containers that run one of the four services."""
    return {name: definition["environment"]["ZD_SERVICE"] for name, definition in services().items()
            if ours(definition) and "ZD_SERVICE" in definition.get("environment", {})}


def rabbitmq_nodes():
    return sorted(name for name, definition in services().items()
                  if definition.get("image", "").startswith("rabbitmq:"))


def read_env_file(path):
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, equals, value = line.partition("=")
            assert equals, f"{path}: {line!r} is not NAME=value"
            values[name.strip()] = value
    return values


def env_files(definition):
    files = definition.get("env_file", [])
    return [DEPLOY / (entry if isinstance(entry, str) else entry["path"])
            for entry in ([files] if isinstance(files, str) else files)]


def environment(name):
    """What a container's environment holds: its env files, then ``environment``."""
    definition = services()[name]
    values = {}
    for path in env_files(definition):
        values.update(read_env_file(path))
    given = definition.get("environment", {})
    if isinstance(given, list):
        given = dict(entry.partition("=")[::2] for entry in given)
    values.update({key: "" if value is None else str(value) for key, value in given.items()})
    return values


def volume_mounts(definition):
    """``(source, target, read_only)`` of each volume (short syntax)."""
    mounts = []
    for entry in definition.get("volumes", []):
        assert isinstance(entry, str), f"{entry}: use the short syntax"
        parts = entry.split(":")
        mounts.append((parts[0], parts[1], parts[2:] == ["ro"]))
    return mounts


def published(definition):
    """``(host address, host port, container port)`` of each published port."""
    found = []
    for entry in definition.get("ports", []):
        parts = str(entry).split(":")
        assert len(parts) == 3, f"{entry}: give the host address, host port and container port"
        found.append((parts[0], int(parts[1]), int(parts[2])))
    return found


def mounted_file(name, target):
    """The repository file mounted at ``target`` in ``name``'s container."""
    for source, mount_target, _ in volume_mounts(services()[name]):
        if not source.startswith("."):
            continue
        if mount_target == target:
            return (DEPLOY / source).resolve()
        if target.startswith(mount_target + "/"):
            return (DEPLOY / source).resolve() / target[len(mount_target) + 1:]
    raise AssertionError(f"nothing of the repository is mounted at {target} in {name}")


def prometheus_config():
    return yaml.safe_load(mounted_file("prometheus", "/etc/prometheus/prometheus.yml").read_text())


def scrape_job(config, name):
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == name]
    return job


def targets(job):
    return {target for group in job["static_configs"] for target in group["targets"]}


def test_the_schema_is_the_upstream_file_recorded_in_its_readme():
    digest = hashlib.sha256(SCHEMA.read_bytes()).hexdigest()
    readme = (DEPLOY / "schemas" / "README.md").read_text()
    assert f"`{digest}`" in readme
    assert "https://github.com/compose-spec/compose-spec" in readme


def test_the_compose_file_follows_the_compose_specification():
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose()),
                    key=lambda error: list(error.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
                                 for error in errors)
    assert compose()["name"] == "zero-distance"


def test_every_image_is_built_here_or_pinned_to_a_version_and_digest():
    built = {}
    for name, definition in services().items():
        if ours(definition):
            build = definition["build"]
            assert (DEPLOY / build["context"]).resolve() == ROOT, name
            assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == ROOT / "Dockerfile"
            built.setdefault((definition["image"], build["target"]), set()).add(name)
            continue
        reference, at, digest = definition["image"].partition("@")
        image, _, tag = reference.rpartition(":")
        assert image and "/" not in tag, f"{name}: {definition['image']} has no tag"
        assert tag != "latest" and re.search(r"\d", tag), f"{name}: {definition['image']}"
        assert at and re.fullmatch(r"sha256:[0-9a-f]{64}", digest), \
            f"{name}: {definition['image']}: pin the digest as well as the tag"
    # one image for all our containers, but the development sink's (the devsink target: the
    # runtime target has no SMTP server)
    sinks = {name for name, definition in services().items() if "network_mode" in definition}
    assert built == {("zero-distance:dev", "runtime"): set(services()) - sinks - {
                         name for name, definition in services().items() if not ours(definition)},
                     ("zero-distance-devsink:dev", "devsink"): sinks}
    assert len(sinks) == 1


def test_the_start_order_is_health_gated():
    defined = services()
    healthy = set()
    for name, definition in defined.items():
        check = definition.get("healthcheck", {})
        if check.get("test") or (ours(definition) and "ZD_SERVICE" in definition.get("environment", {})
                                 and not check.get("disable")):
            healthy.add(name)
    for name, definition in defined.items():
        for target, condition in definition.get("depends_on", {}).items():
            assert target in defined, f"{name} depends on {target}, which does not exist"
            if condition["condition"] == "service_healthy":
                assert target in healthy, f"{name} waits for {target}, which has no health check"
            if condition["condition"] == "service_completed_successfully":
                assert target in JOBS, f"{name} waits for {target} to complete, a long runner"
    conditions = {name: {target: condition["condition"]
                         for target, condition in definition.get("depends_on", {}).items()}
                  for name, definition in defined.items()}
    nodes = rabbitmq_nodes()
    assert len(nodes) == 3
    assert conditions["migrate"] == {**{node: "service_healthy" for node in nodes},
                                     "postgres": "service_healthy"}
    # the department users' kept passwords are read from the database
    assert conditions["rabbitmq-definitions"] == {"postgres": "service_healthy"}
    for node in nodes:  # together, so that a restart never waits on a node that waits on it
        assert conditions[node] == {"rabbitmq-definitions": "service_completed_successfully"}
    for name in service_containers():
        assert conditions[name] == {"migrate": "service_completed_successfully"}, name
    for job in JOBS:
        assert defined[job]["restart"] == "no" and defined[job]["healthcheck"] == {"disable": True}
    # and no cycle: every container can be started after the ones it waits for
    started = set()
    while len(started) < len(defined):
        ready = {name for name in defined if name not in started and set(conditions[name]) <= started}
        assert ready, f"a cycle among {set(defined) - started}"
        started |= ready


def test_the_jobs_run_admin_commands_that_exist():
    for job, arguments in JOBS.items():
        command = services()[job]["command"]
        assert command == ["python", "-m", "services.admin", *arguments]
        admin_parser().parse_args(command[3:])  # SystemExit if the CLI has no such command


def test_every_mounted_file_exists_and_config_is_mounted_read_only():
    declared = set(compose()["volumes"])
    used = set()
    for name, definition in services().items():
        for source, target, read_only in volume_mounts(definition):
            if source.startswith((".", "/")):
                assert (DEPLOY / source).exists(), f"{name}: {source} does not exist"
                assert read_only, f"{name}: mount {source} read-only"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
                used.add(source)
            assert PurePosixPath(target).is_absolute(), f"{name}: {target}"
        for path in env_files(definition):
            assert path.is_file(), f"{name}: {path} does not exist"
    assert used == declared, f"volumes declared and never mounted: {declared - used}"


def test_published_ports_are_what_the_containers_listen_on():
    defined = services()
    containers = service_containers()
    sinks = {definition["network_mode"].removeprefix("service:"): name
             for name, definition in defined.items() if "network_mode" in definition}
    host_ports = []
    for name, definition in defined.items():
        listening = set()
        if name in containers:
            service = containers[name]
            port = environment(name)[f"ZD_{service.upper()}_PORT"]
            assert int(port) == DEFAULT_PORTS[service]
            listening.add(int(port))
        elif not ours(definition):
            listening |= UPSTREAM_PORTS[definition["image"].partition("@")[0].rpartition(":")[0]]
        if name in sinks:
            listening.add(sink_ports(sinks[name])["http"])
        for host, host_port, target in published(definition):
            assert host == "127.0.0.1", f"{name}: publish on loopback only (development passwords)"
            assert target in listening, f"{name} publishes {target}, where nothing listens"
            host_ports.append(host_port)
    assert len(host_ports) == len(set(host_ports))
    for name in containers:
        assert published(defined[name]), f"{name} is not reachable from the host"


def test_prometheus_scrapes_every_service_and_rabbitmq_node_on_its_port():
    config = prometheus_config()
    services_job = scrape_job(config, "zero-distance")
    assert targets(services_job) == {
        f"{name}:{environment(name)[f'ZD_{service.upper()}_PORT']}"
        for name, service in service_containers().items()}
    assert set(service_containers().values()) == set(SERVICES)
    assert sorted(name for name, service in service_containers().items() if service == "routing") \
        == ["routing-1", "routing-2"]
    rabbitmq = scrape_job(config, "rabbitmq")
    assert targets(rabbitmq) == {f"{node}:{RABBITMQ_PROMETHEUS_PORT}" for node in rabbitmq_nodes()}
    # the same jobs, path and families as the development Prometheus, which the alerts and the
    # dashboards are written for
    development = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    for job in development["scrape_configs"]:
        mine = scrape_job(config, job["job_name"])
        assert mine.get("metrics_path") == job.get("metrics_path")
        assert mine.get("params") == job.get("params")
    assert "rabbitmq_prometheus" in plugins()
    # the rule files are the repository's alerts, mounted beside the config
    for rule_file in config["rule_files"]:
        target = str(PurePosixPath("/etc/prometheus") / rule_file)
        assert mounted_file("prometheus", target) == DEPLOY / "prometheus" / "alerts.yml"


def test_prometheus_sends_its_alerts_to_the_alertmanager_beside_it():
    """Compose's Prometheus alerts the Alertmanager service, which routes with the
    repository's config (tests/unit/deploy/test_alertmanager.py)."""
    (alertmanagers,) = prometheus_config()["alerting"]["alertmanagers"]
    assert targets(alertmanagers) == {"alertmanager:9093"}
    assert "alertmanager" in services()
    assert mounted_file("alertmanager", "/etc/alertmanager/alertmanager.yml") == \
        DEPLOY / "alertmanager" / "alertmanager.yml"
    assert "alertmanager" in services()["prometheus"]["depends_on"]


def test_prometheus_labels_each_service_target_with_its_service():
    """The alert on a service with no target left reads `up{service=...}`."""
    services_job = scrape_job(prometheus_config(), "zero-distance")
    for group in services_job["static_configs"]:
        service = group["labels"]["service"]
        assert {service_containers()[target.partition(":")[0]] for target in group["targets"]} \
            == {service}
    assert {group["labels"]["service"] for group in services_job["static_configs"]} == set(SERVICES)
    node_job = scrape_job(prometheus_config(), "rabbitmq-node")
    assert targets(node_job) == {f"{node}:{RABBITMQ_PROMETHEUS_PORT}" for node in rabbitmq_nodes()}
    assert node_job.get("metrics_path", "/metrics") == "/metrics"


def test_the_compose_prometheus_config_passes_promtool(tmp_path):
    tool = shutil.which("promtool")
    if not tool:
        pytest.skip("promtool is not installed (`make test` installs Debian's prometheus package)")
    config = mounted_file("prometheus", "/etc/prometheus/prometheus.yml")
    shutil.copy(config, tmp_path / "prometheus.yml")
    for rule_file in prometheus_config()["rule_files"]:
        source = mounted_file("prometheus", str(PurePosixPath("/etc/prometheus") / rule_file))
        shutil.copy(source, tmp_path / rule_file)
    checked = subprocess.run([tool, "check", "config", "prometheus.yml"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_grafana_reads_the_compose_prometheus_and_the_repository_dashboards():
    provisioning = "/etc/grafana/provisioning"
    mine = yaml.safe_load(mounted_file("grafana", f"{provisioning}/datasources/prometheus.yaml")
                          .read_text())["datasources"]
    development = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources"
                                  / "prometheus.yaml").read_text())["datasources"]
    assert [{**source, "url": None} for source in mine] == \
        [{**source, "url": None} for source in development]
    url = urlsplit(mine[0]["url"])
    assert url.hostname in services() and url.port in UPSTREAM_PORTS["prom/prometheus"]
    providers = yaml.safe_load(mounted_file("grafana", f"{provisioning}/dashboards/zero-distance.yaml")
                               .read_text())["providers"]
    for provider in providers:
        assert mounted_file("grafana", provider["options"]["path"]) == DEPLOY / "grafana" / "dashboards"


def test_every_container_is_given_every_variable_its_code_reads():
    containers = service_containers()
    assert set(containers.values()) == set(SERVICES)
    for name, service in containers.items():
        needed = {variable.name for variable in VARIABLES if service in variable.used_by}
        missing = needed - set(environment(name))
        assert not missing, f"{name} ({service}) lacks {sorted(missing)}"
    for job in JOBS:
        needed = {variable.name for variable in VARIABLES if ADMIN in variable.used_by}
        missing = needed - set(environment(job))
        assert not missing, f"{job} lacks {sorted(missing)}"


def test_no_container_is_given_a_variable_the_code_does_not_read():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for variable in IMAGE_VARIABLES:
        assert variable not in KNOWN and variable in dockerfile
    for name in services():
        unknown = {key for key in environment(name)
                   if key.startswith("ZD_") and key not in KNOWN and key not in IMAGE_VARIABLES}
        assert not unknown, f"{name} sets {sorted(unknown)}, which no code reads"


def test_each_container_gets_only_its_own_variables():
    """A service never sees the database owner's or the broker administrator's credentials,
    nor another service's; the jobs see only the admin's."""
    for name, service in service_containers().items():
        foreign = {key for key in environment(name)
                   if key in KNOWN and service not in KNOWN[key].used_by + KNOWN[key].optional_for}
        assert not foreign, f"{name} ({service}) is given {sorted(foreign)}"
        assert environment(name)["ZD_DECLARE_TOPOLOGY"] == "own"
        assert environment(name)["ZD_BIND"] == "0.0.0.0"
        assert "command" not in services()[name], "the image's command runs ZD_SERVICE"
    for job in JOBS:
        foreign = {key for key in environment(job) if key in KNOWN and ADMIN not in KNOWN[key].used_by}
        assert not foreign, f"{job} is given {sorted(foreign)}"


def credentials(url):
    parts = urlsplit(url)
    return parts.username, parts.password


def brokers(uri):
    return [urlsplit(part) for part in uri.split(";")]


def test_the_credentials_the_jobs_create_are_the_ones_the_services_use():
    admin = environment("migrate")
    assert environment("rabbitmq-definitions") == admin
    postgres = environment("postgres")
    owner = urlsplit(admin["ZD_DATABASE_URL"])
    assert (owner.username, owner.password) == (postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"])
    assert owner.path == f"/{postgres['POSTGRES_DB']}" == "/zerodistance"
    passwords = [owner.password]
    nodes = rabbitmq_nodes()
    (admin_broker,) = brokers(admin["ZD_AMQP_URI"])  # the admin CLI takes one broker
    assert admin_broker.hostname in nodes
    management = urlsplit(admin["ZD_RABBIT_MANAGEMENT_URL"])
    assert (management.username, management.password) == credentials(admin["ZD_AMQP_URI"])
    assert management.hostname in nodes and management.port == 15672
    passwords.append(admin_broker.password)
    for name, service in service_containers().items():
        env = environment(name)
        for kind in ("DATABASE_URL", "AMQP_URI"):
            variable = f"ZD_{service.upper()}_{kind}"
            assert env[variable] == admin[variable], f"{name}: {variable} differs from the job's"
        database = urlsplit(env[f"ZD_{service.upper()}_DATABASE_URL"])
        assert database.username == f"zd_{service}" and database.hostname == "postgres"
        assert database.path == owner.path
        listed = brokers(env[f"ZD_{service.upper()}_AMQP_URI"])
        assert [broker.hostname for broker in listed] == nodes, "every node, to fail over"
        for broker in listed:
            assert broker.scheme == "amqp" and broker.port == 5672 and broker.path == admin_broker.path
            assert (broker.username, broker.password) == (listed[0].username, listed[0].password)
        assert listed[0].username == f"zd-{service}"
        passwords += [database.password, listed[0].password]
    assert "guest" not in json.dumps([environment(name) for name in services()])
    unique = set(passwords)
    assert len(unique) == len(set(SERVICES)) * 2 + 2, "one password per role and user"
    assert all(password.startswith("dev-only-") for password in unique)


def password_matches(password_hash, password):
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    raw = base64.b64decode(password_hash)
    salt, digest = raw[:4], raw[4:]
    return hashlib.sha256(salt + password.encode()).digest() == digest


def test_the_generated_definitions_let_each_service_log_in_with_its_compose_password(tmp_path):
    """The rabbitmq-definitions job, run here with its Compose environment: the broker users
    it writes are the ones the services' URIs name, with their passwords."""
    env = environment("rabbitmq-definitions")
    directories = [str(mounted_file("rabbitmq-definitions", path))
                   for path in env["ZD_DIRECTORY"].split(",")]
    clean = {name: value for name, value in os.environ.items() if not name.startswith("ZD_")}
    out = tmp_path / "definitions.json"
    arguments = JOBS["rabbitmq-definitions"][:-1] + [str(out)]
    subprocess.run([sys.executable, "-m", "services.admin", *arguments], cwd=ROOT, check=True,
                   env={**clean, **env, "ZD_DIRECTORY": ",".join(directories)}, timeout=60)
    document = json.loads(out.read_text())
    users = {user["name"]: user for user in document["users"]}
    assert "guest" not in users
    vhost = urlsplit(env["ZD_AMQP_URI"]).path[1:] or "/"
    assert document["vhosts"] == [{"name": vhost}]
    expected = {"ZD_AMQP_URI": ["administrator"],
                **{f"ZD_{service.upper()}_AMQP_URI": [] for service in SERVICES}}
    for variable, tags in expected.items():
        user, password = credentials(env[variable])
        assert users[user]["tags"] == tags, user
        assert password_matches(users[user]["password_hash"], password), user
    assert {queue["arguments"]["x-queue-type"] for queue in document["queues"]} == {"quorum"}
    # the committed definitions (Kubernetes' Secret is generated from the same directory) are
    # these, but for the passwords
    committed = json.loads((DEPLOY / "rabbitmq" / "definitions.json").read_text())
    assert [{**user, "password_hash": ""} for user in document["users"]] == committed["users"]
    assert {**document, "users": None} == {**committed, "users": None}


def test_both_jobs_read_the_directory_mounted_from_the_host():
    """The directory is configuration, not part of the image: the definitions job (the
    broker's department queues and users) and the migration job (what the services are
    published) read the same file of the host, and no service is given it."""
    for job in JOBS:
        paths = environment(job)["ZD_DIRECTORY"].split(",")
        assert [mounted_file(job, path) for path in paths] == [DEPLOY / "directory.yaml"], job
        assert not PurePosixPath(paths[0]).is_relative_to(APP), "beside the image's code, not in it"
    for name in service_containers():
        assert "ZD_DIRECTORY" not in environment(name)
        assert DEPLOY / "directory.yaml" not in [
            (DEPLOY / source).resolve() for source, _, _ in volume_mounts(services()[name])
            if source.startswith(".")], name


def test_the_credential_files_are_marked_for_development_and_show_tls():
    files = sorted((DEPLOY / "compose" / "env").glob("*.env"))
    assert files
    for path in files:
        text = path.read_text()
        assert "DEVELOPMENT ONLY" in text, path.name
        for name, value in read_env_file(path).items():
            if "PASSWORD" in name or "COOKIE" in name:
                assert value.startswith("dev-only-"), f"{path.name}: {name}"
            for url in value.split(";"):
                if "://" in url and credentials(url)[1]:
                    assert credentials(url)[1].startswith("dev-only-"), f"{path.name}: {name}"
    for owner in ("admin", *SERVICES):
        text = (DEPLOY / "compose" / "env" / f"{owner}.env").read_text()
        commented = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
        assert re.search(r"amqps://[^\s;]+:5671/", commented), owner
        assert re.search(r"postgresql://\S+\?sslmode=verify-full&sslrootcert=/\S+", commented), owner


def rabbitmq_conf():
    path = mounted_file(rabbitmq_nodes()[0], "/etc/rabbitmq/conf.d/30-zero-distance.conf")
    settings = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, equals, value = line.partition("=")
            assert equals, line
            settings[key.strip()] = value.strip()
    return settings


def plugins():
    text = mounted_file(rabbitmq_nodes()[0], "/etc/rabbitmq/enabled_plugins").read_text()
    terms = "".join(line for line in text.splitlines() if not line.lstrip().startswith("%"))
    match = re.fullmatch(r"\s*\[([a-z_,\s]*)\]\.\s*", terms)
    assert match, "enabled_plugins is one Erlang list"
    return {plugin.strip() for plugin in match.group(1).split(",")}


def test_the_rabbitmq_nodes_form_one_cluster_that_spreads_quorum_queues():
    defined = services()
    nodes = rabbitmq_nodes()
    settings = rabbitmq_conf()
    assert settings["cluster_formation.peer_discovery_backend"] == "classic_config"
    listed = {value for key, value in settings.items()
              if key.startswith("cluster_formation.classic_config.nodes.")}
    assert listed == {f"rabbit@{defined[node]['hostname']}" for node in nodes}
    assert all(defined[node]["hostname"] == node for node in nodes), "the name others resolve"
    assert settings["queue_leader_locator"] == "balanced"
    assert settings["quorum_queue.continuous_membership_reconciliation.enabled"] == "true"
    assert settings["quorum_queue.continuous_membership_reconciliation.target_group_size"] == \
        str(len(nodes))
    advanced = mounted_file(nodes[0], "/etc/rabbitmq/advanced.config").read_text()
    assert re.search(rf"\{{quorum_cluster_size,\s*{len(nodes)}\}}", advanced)
    assert plugins() == {"rabbitmq_management", "rabbitmq_prometheus"}
    first = defined[nodes[0]]
    for node in nodes:
        definition = defined[node]
        assert definition["image"] == first["image"] and RABBITMQ_IMAGE.fullmatch(first["image"])
        # the series the definitions are written for (their policies differ by version)
        assert re.match(rf"rabbitmq:{re.escape(DEPLOYED_RABBITMQ_VERSION)}[.-]", first["image"])
        assert definition["command"] == first["command"]
        for target in ("/etc/rabbitmq/conf.d/30-zero-distance.conf", "/etc/rabbitmq/advanced.config",
                       "/etc/rabbitmq/enabled_plugins"):
            assert mounted_file(node, target) == mounted_file(nodes[0], target)
        cookie = environment(node)["RABBITMQ_ERLANG_COOKIE"]
        assert cookie and cookie == environment(nodes[0])["RABBITMQ_ERLANG_COOKIE"]
        data = [source for source, target, _ in volume_mounts(definition) if target == "/var/lib/rabbitmq"]
        assert data == [f"{node}-data"], "each node its own data"


def test_the_nodes_load_the_definitions_the_job_writes():
    defined = services()
    settings = rabbitmq_conf()
    job_out = PurePosixPath(JOBS["rabbitmq-definitions"][-1])
    (job_volume,) = [(source, PurePosixPath(target))
                     for source, target, _ in volume_mounts(defined["rabbitmq-definitions"])
                     if job_out.is_relative_to(target)]
    written = job_out.relative_to(job_volume[1])
    for node in rabbitmq_nodes():
        script = defined[node]["command"][-1]
        copy = re.fullmatch(r"install -o rabbitmq -g rabbitmq -m 0400 (\S+) (\S+)"
                            r" && exec docker-entrypoint\.sh rabbitmq-server", script)
        assert copy, script
        source, loaded = map(PurePosixPath, copy.groups())
        assert str(loaded) == settings["load_definitions"]
        (mount,) = [(name, PurePosixPath(target), read_only)
                    for name, target, read_only in volume_mounts(defined[node])
                    if source.is_relative_to(target)]
        assert mount[0] == job_volume[0] and mount[2], "the job's volume, read-only"
        assert source.relative_to(mount[1]) == written


def sink_ports(name):
    command = services()[name]["command"]
    assert command[:3] == ["python", "-m", "services.devsink"]
    options = dict(zip(command[3::2], command[4::2], strict=True))
    assert options["--bind"] == "0.0.0.0"
    return {"smtp": int(options["--smtp-port"]), "http": int(options["--http-port"])}


def test_notify_delivers_to_the_development_sink_beside_it():
    defined = services()
    (sink,) = [name for name, definition in defined.items() if "network_mode" in definition]
    (notify,) = [name for name, service in service_containers().items() if service == "notify"]
    assert defined[sink]["network_mode"] == f"service:{notify}"
    ports = sink_ports(sink)
    env = environment(notify)
    assert env["ZD_SMTP_URL"] == f"smtp://127.0.0.1:{ports['smtp']}"
    assert env["ZD_SMS_GATEWAY_URL"] == f"http://127.0.0.1:{ports['http']}/sms"
    assert env["ZD_WECHAT_GATEWAY_URL"] == f"http://127.0.0.1:{ports['http']}/wechat"
    # the demo directory's webhook points at the sink on notify's loopback
    assert f"http://127.0.0.1:{ports['http']}/webhooks/" in (DEPLOY / "directory.yaml").read_text()
    assert f"127.0.0.1:{ports['http']}/" in " ".join(defined[sink]["healthcheck"]["test"])
    (routing_host_port,) = {host_port for name, service in service_containers().items()
                            if service == "routing" for _, host_port, target in published(defined[name])
                            if target == DEFAULT_PORTS["routing"] and host_port == target}
    assert env["ZD_TICKET_LINK"] == \
        f"http://127.0.0.1:{routing_host_port}/workbench/tickets/{{ticket_id}}"


def test_a_reporters_link_opens_their_page_on_the_published_intake():
    (notify,) = [name for name, service in service_containers().items() if service == "notify"]
    (intake_host_port,) = {host_port for name, service in service_containers().items()
                           if service == "intake" for _, host_port, target in published(services()[name])
                           if target == DEFAULT_PORTS["intake"]}
    assert environment(notify)["ZD_REPORTER_LINK"] == \
        f"http://127.0.0.1:{intake_host_port}/c/{{token}}"


def test_postgres_reports_healthy_for_the_database_and_role_the_job_uses():
    check = services()["postgres"]["healthcheck"]["test"]
    postgres = environment("postgres")
    assert check[:2] == ["CMD", "pg_isready"]
    options = dict(zip(check[2::2], check[3::2], strict=True))
    assert options == {"-h": "127.0.0.1", "-U": postgres["POSTGRES_USER"], "-d": postgres["POSTGRES_DB"]}
