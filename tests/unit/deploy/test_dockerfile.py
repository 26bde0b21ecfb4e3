"""The image's Dockerfile and .dockerignore, read as text (no Docker engine needed): stages
from one base pinned by tag and digest, the pinned dependencies, a runtime stage (the default
target) without build tools, pip, setuptools, the development sink or a directory, that runs
as a fixed non-root user, a devsink target for Compose's sink, and a health check and default
command that are run here against a stand-in server and a stand-in python."""
import fnmatch
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from services.common.config import DEFAULT_PORTS

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
BASE = "python:3.11-slim-bookworm"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}")
#: what the runtime stage removes from the base's system Python: nothing there installs
INSTALLERS = ("pip", "setuptools", "wheel")
BUILD_TOOLS = re.compile(r"\b(apt-get|apt|apk|aptitude|gcc|g\+\+|cc|clang|make|build-essential"
                         r"|python3-dev|libpq-dev|pip|pip3)\b")


def instructions(text):
    """``(INSTRUCTION, arguments)`` per instruction: continuation lines joined, comments and
    blank lines dropped (as Docker does, also between continuation lines)."""
    found, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1]
            continue
        keyword, _, arguments = (pending + line).strip().partition(" ")
        found.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continuation line"
    return found


def stages():
    """Each stage as ``{"base", "name", "steps"}``, in order."""
    result = []
    for keyword, arguments in instructions(DOCKERFILE.read_text()):
        if keyword == "FROM":
            words = arguments.split()
            assert len(words) == 1 or (len(words) == 3 and words[1].upper() == "AS"), arguments
            name = words[2] if len(words) == 3 else None
            result.append({"base": words[0], "name": name, "steps": []})
        else:
            assert result, f"{keyword} before the first FROM"
            result[-1]["steps"].append((keyword, arguments))
    return result


def steps(stage, keyword):
    return [arguments for kind, arguments in stage["steps"] if kind == keyword]


def final():
    return stages()[-1]


def stage(name):
    (found,) = [candidate for candidate in stages() if candidate["name"] == name]
    return found


def runtime():
    return stage("runtime")


def env_of(stage):
    """The stage's ENV as a dict (``ENV A=1 B=2`` form)."""
    values = {}
    for arguments in steps(stage, "ENV"):
        for word in shlex.split(arguments):
            name, equals, value = word.partition("=")
            assert equals, f"ENV {arguments!r}: use the NAME=value form"
            values[name] = value
    return values


def normalized(name):
    """A distribution name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def exec_form(arguments):
    """The JSON array of an exec-form CMD or HEALTHCHECK's CMD."""
    command = json.loads(arguments)
    assert isinstance(command, list) and all(isinstance(word, str) for word in command)
    return command


def healthcheck():
    """``(options, command)`` of the runtime stage's only HEALTHCHECK."""
    (arguments,) = steps(runtime(), "HEALTHCHECK")
    options, _, command = arguments.partition(" CMD ")
    parsed = dict(option.lstrip("-").split("=", 1) for option in options.split())
    return parsed, exec_form(command)


def seconds(duration):
    return sum(int(amount) * {"s": 1, "m": 60, "h": 3600}[unit]
               for amount, unit in re.findall(r"(\d+)([smh])", duration))


def dockerignore_excludes(path):
    """Whether the build context leaves ``path`` (relative, with /) out: the last pattern
    that matches the path or one of its parent directories decides; ``!`` keeps it."""
    excluded = False
    for line in DOCKERIGNORE.read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        keep = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        parts = path.split("/")
        candidates = ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]
        if any(_matches(candidate, pattern) for candidate in candidates):
            excluded = not keep
    return excluded


def _matches(path, pattern):
    if pattern.startswith("**/"):
        tail = pattern[3:]
        return any(_matches("/".join(path.split("/")[start:]), tail)
                   for start in range(len(path.split("/"))))
    if path.count("/") != pattern.count("/"):
        return False
    return all(fnmatch.fnmatchcase(part, glob)
               for part, glob in zip(path.split("/"), pattern.split("/"), strict=True))


def copies(stage):
    """``(options, sources, destination)`` of each COPY of the stage."""
    found = []
    for arguments in steps(stage, "COPY"):
        words = arguments.split()
        options = [word for word in words if word.startswith("--")]
        paths = [word for word in words if not word.startswith("--")]
        found.append((options, paths[:-1], paths[-1]))
    return found


def test_the_file_says_what_it_builds_and_how():
    head = DOCKERFILE.read_text().split("\nFROM ")[0]
    assert head.startswith("# Zero Distance")
    assert "docker build -t zero-distance ." in head
    assert "docker compose -f deploy/compose.yaml up" in head


def test_the_stages_come_from_one_base_pinned_by_tag_and_digest():
    assert [(found["name"], found["base"].split("@")[0]) for found in stages()] == [
        ("builder", BASE), ("devsink-builder", "builder"), ("runtime", BASE),
        ("devsink", "runtime"), (None, "runtime")]
    pulled = {found["base"] for found in stages() if found["base"].startswith(BASE)}
    assert len(pulled) == 1, "the builder's and the runtime's base are the same image"
    (base,) = pulled
    image, _, tag = base.split("@")[0].partition(":")
    assert tag and tag != "latest" and "$" not in base, base
    assert DIGEST.fullmatch(base.removeprefix(BASE)), f"{base}: pin the digest as well as the tag"


def test_the_default_target_is_the_runtime():
    """``docker build`` without --target builds the last stage: the runtime, as it is."""
    assert final()["base"] == "runtime" and final()["steps"] == []


def requirements_of(install, listing):
    """The requirements a RUN's own script reads out of pyproject.toml into ``listing``."""
    script = re.search(rf'python -c "([^"]*)"\s*> {re.escape(listing)}', install).group(1)
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, check=True, timeout=30).stdout.split()


def assert_pinned(requirements):
    pinned = dict(map(str.strip, line.split("==")) for line in
                  (ROOT / "constraints.txt").read_text().splitlines() if "==" in line)
    pinned = {normalized(name): version for name, version in pinned.items()}
    for requirement in requirements:
        name, version = requirement.split("==")
        assert pinned.get(normalized(re.sub(r"\[.*\]", "", name))) == version, requirement


def test_the_builder_installs_the_pinned_runtime_dependencies_without_pip_in_the_venv():
    builder = stage("builder")
    (install,) = steps(builder, "RUN")
    assert [sources for _, sources, _ in copies(builder)] == [["pyproject.toml", "constraints.txt"]]
    # a virtual environment without pip (nor setuptools), that the base's pip installs into
    assert "python -m venv --without-pip /opt/venv" in install
    assert ("python -m pip --python /opt/venv/bin/python install -c constraints.txt"
            " -r requirements.txt") in install
    listed = requirements_of(install, "requirements.txt")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert listed == project["dependencies"]
    assert not {normalized(r.split("==")[0]) for r in listed} & {
        normalized(r.split("==")[0]) for r in project["optional-dependencies"]["devstack"]}
    assert_pinned(listed)


def test_the_devstack_extra_is_the_devsink_targets_alone():
    (install,) = steps(stage("devsink-builder"), "RUN")
    listed = requirements_of(install, "devstack.txt")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert listed == project["optional-dependencies"]["devstack"]
    assert any(requirement.startswith("aiosmtpd==") for requirement in listed)
    assert_pinned(listed)
    assert "pip install --target /opt/devsink -c constraints.txt -r devstack.txt" in install
    sink = stage("devsink")
    assert [(options, sources) for options, sources, _ in copies(sink) if options] == [
        (["--from=devsink-builder"], ["/opt/devsink"])]
    assert env_of(sink)["PYTHONPATH"] == "/opt/devsink"
    # nothing else of the devstack reaches the runtime
    assert "devsink" not in json.dumps(runtime()["steps"])


#: the application the runtime image holds: the services and the admin CLI, no sink, no
#: development stack, no directory (mounted)
APPLICATION = {"services/__init__.py", "services/common/", "services/admin/", "services/intake/",
               "services/routing/", "services/notify/", "services/reporting/"}


def test_the_runtime_stage_copies_only_the_virtualenv_and_the_application():
    copied = copies(runtime())
    assert [(options, sources) for options, sources, _ in copied if options] == [
        (["--from=builder"], ["/opt/venv"])]
    application = {source for options, sources, _ in copied if not options for source in sources}
    assert application == APPLICATION
    packages = {path.name for path in (ROOT / "services").iterdir()
                if (path / "__init__.py").is_file()}
    assert packages - {source.split("/")[1] for source in application} == {"devsink"}
    assert steps(runtime(), "WORKDIR") == ["/app"]
    assert env_of(runtime())["PATH"].startswith("/opt/venv/bin:")
    sink = {source for options, sources, _ in copies(stage("devsink")) if not options
            for source in sources}
    assert sink == {"services/devsink/"}


def test_every_copied_source_exists_and_is_in_the_build_context():
    for stage in stages():
        for options, sources, _ in copies(stage):
            if any(option.startswith("--from") for option in options):
                continue
            for source in sources:
                path = ROOT / source
                assert path.exists(), source
                files = [path] if path.is_file() else [
                    found for found in path.rglob("*")
                    if found.is_file() and "__pycache__" not in found.parts]
                assert files, source
                left_out = [str(found.relative_to(ROOT)) for found in files
                            if dockerignore_excludes(str(found.relative_to(ROOT)))]
                assert not left_out, f"{source}: .dockerignore leaves out {left_out[:5]}"


def test_dockerignore_keeps_local_state_out_of_the_build_context():
    for path in (".venv/bin/python", "var/demo-keys.json", ".git/HEAD", "tests/conftest.py",
                 "tests/unit/deploy/test_dockerfile.py", "bench/results/x.json",
                 "services/common/__pycache__/config.cpython-311.pyc", ".pytest_cache/v/x",
                 "deploy/compose/env/admin.env", "deploy/directory.yaml", "services/devstack.py"):
        assert dockerignore_excludes(path), path
    for path in ("services/common/config.py", "services/devsink/web.py", "pyproject.toml",
                 "constraints.txt"):
        assert not dockerignore_excludes(path), path


def test_the_runtime_stage_runs_as_a_fixed_non_root_user():
    users = steps(runtime(), "USER")
    assert len(users) == 1
    uid, _, gid = users[0].partition(":")
    assert uid.isdigit() and int(uid) >= 1000, "a numeric uid, so runAsNonRoot can check it"
    assert gid.isdigit() and int(gid) >= 1000
    created = " ".join(steps(runtime(), "RUN"))
    assert f"useradd --system --uid {uid} --gid {gid}" in created
    # the code and the virtualenvs stay root's: the user that runs them cannot change them
    for image in (runtime(), stage("devsink")):
        assert not [options for options, _, _ in copies(image) if any("--chown" in o for o in options)]
    assert not steps(stage("devsink"), "USER"), "the sink runs as the runtime's user"


def removal(command):
    """The paths a RUN that only removes (``rm -rf`` PATH...) removes, else None."""
    words = command.split()
    return words[2:] if words[:2] == ["rm", "-rf"] else None


def test_the_runtime_stage_has_no_build_tools():
    for image in (runtime(), stage("devsink")):
        for command in steps(image, "RUN"):
            if removal(command) is None:
                assert not BUILD_TOOLS.search(command), command


def test_the_runtime_stage_removes_pip_setuptools_and_wheel(tmp_path):
    """The base's system Python comes with pip, setuptools and wheel (site-packages, their
    scripts, ensurepip's wheels): the runtime's removal, run on a copy of that layout, leaves
    none of them and everything else."""
    (command,) = [command for command in steps(runtime(), "RUN") if removal(command) is not None]
    paths = removal(command)
    assert all(path.startswith("/usr/local/") and "*" not in path.split("/")[-2] for path in paths)
    root = tmp_path / "root"
    site = root / "usr/local/lib/python3.11/site-packages"
    shipped = [f"{site}/{name}/__init__.py" for name in (*INSTALLERS, "pkg_resources", "_distutils_hack")]
    shipped += [f"{site}/{name}-24.0.dist-info/METADATA" for name in INSTALLERS]
    shipped += [f"{root}/usr/local/bin/{name}" for name in ("pip", "pip3", "pip3.11", "wheel")]
    shipped += [f"{site}/distutils-precedence.pth",
                f"{root}/usr/local/lib/python3.11/ensurepip/_bundled/pip-24.0-py3-none-any.whl"]
    kept = [f"{site}/README.txt", f"{root}/usr/local/bin/python3.11",
            f"{root}/usr/local/lib/python3.11/json/__init__.py"]
    for path in shipped + kept:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text("")
    rooted = " ".join(["rm", "-rf", *(f"{root}{path}" for path in paths)])
    subprocess.run(["sh", "-c", rooted], check=True, timeout=10)
    left = sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())
    assert left == sorted(str(Path(path).relative_to(root)) for path in kept)


def test_environment_and_ports():
    env = env_of(runtime())
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["ZD_BIND"] == "0.0.0.0"
    exposed = {int(port) for arguments in steps(runtime(), "EXPOSE") for port in arguments.split()}
    assert exposed == set(DEFAULT_PORTS.values()) == {8001, 8002, 8003, 8004}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def health_server(tmp_path):
    """A server on a free port that answers 200 to /health/ready (readiness)."""
    (tmp_path / "health").mkdir()
    (tmp_path / "health" / "ready").write_text("ok\n")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(tmp_path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "the stand-in server did not start"
            time.sleep(0.05)
    yield port
    server.terminate()
    server.wait(5)


def run_healthcheck(env):
    _, command = healthcheck()
    assert command[0] == "python"
    clean = {name: value for name, value in os.environ.items() if not name.startswith("ZD_")}
    return subprocess.run([sys.executable, *command[1:]], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=30)


def test_the_healthcheck_asks_the_readiness_of_the_service_the_container_runs(health_server):
    options, command = healthcheck()
    # readiness, not /health: an orchestrator acting on an unhealthy container (Swarm, ECS
    # replace it) must not restart intake because the broker is down
    assert "/health/ready'" in command[-1]
    assert seconds(options["timeout"]) < seconds(options["interval"])
    assert seconds(options["start-period"]) >= 10 and int(options["retries"]) >= 1
    port = str(health_server)
    assert run_healthcheck({"ZD_SERVICE": "routing", "ZD_ROUTING_PORT": port}).returncode == 0
    assert run_healthcheck({"ZD_SERVICE": "notify", "ZD_NOTIFY_PORT": port}).returncode == 0
    # another service's port is not this one's; no ZD_SERVICE is unhealthy, not a guess
    closed = str(free_port())
    assert run_healthcheck({"ZD_SERVICE": "routing", "ZD_ROUTING_PORT": closed,
                            "ZD_INTAKE_PORT": port}).returncode != 0
    assert run_healthcheck({"ZD_ROUTING_PORT": port}).returncode != 0


def test_the_healthcheck_fails_on_an_error_status(tmp_path, health_server):
    (tmp_path / "health" / "ready").unlink()  # the stand-in server answers 404 now
    answer = run_healthcheck({"ZD_SERVICE": "intake", "ZD_INTAKE_PORT": str(health_server)})
    assert answer.returncode != 0 and "HTTP Error 404" in answer.stderr


def test_the_default_command_runs_the_service_named_by_zd_service(tmp_path):
    (cmd,) = steps(runtime(), "CMD")
    command = exec_form(cmd)
    assert command[:2] == ["sh", "-c"]
    stand_in = tmp_path / "python"  # prints what it would have run
    stand_in.write_text('#!/bin/sh\necho "$@"\n')
    stand_in.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    for service in DEFAULT_PORTS:
        ran = subprocess.run(command, env={**env, "ZD_SERVICE": service}, capture_output=True,
                             text=True, timeout=10)
        assert ran.returncode == 0 and ran.stdout.split() == ["-m", f"services.{service}"]
    missing = subprocess.run(command, env=env, capture_output=True, text=True, timeout=10)
    assert missing.returncode != 0 and "set ZD_SERVICE" in missing.stderr


def copy_application(image, app):
    """The application files ``image`` copies from the build context, into ``app``."""
    for options, sources, destination in copies(image):
        if any(option.startswith("--from") for option in options):
            continue
        for source in sources:
            origin = ROOT / source.rstrip("/")
            target = app / destination
            if origin.is_dir():
                shutil.copytree(origin, target, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__"))
            else:
                target.mkdir(parents=True, exist_ok=True) if destination.endswith("/") else None
                shutil.copy(origin, target)


def test_the_files_the_image_copies_are_enough_to_run_every_part(tmp_path):
    """The application files of the runtime stage, copied alone into an /app of their own,
    import every service and run the admin CLI with a directory mounted beside them (the image
    has none); with the devsink target's files, the sink imports too (the installed
    dependencies stand in for the image's virtual environments)."""
    app = tmp_path / "app"
    copy_application(runtime(), app)
    environment = {"PATH": os.environ["PATH"], "PYTHONPATH": str(app), "HOME": str(tmp_path)}
    imported = subprocess.run(
        [sys.executable, "-c", "import services, services.intake.service, services.routing.service,"
         " services.notify.service, services.reporting.service, services.admin.cli;"
         " print(services.__file__)"],
        cwd=app, env=environment, capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == str(app / "services" / "__init__.py")
    assert not (app / "services" / "devsink").exists() and not (app / "deploy").exists()
    mounted = tmp_path / "etc" / "directory.yaml"
    mounted.parent.mkdir()
    shutil.copy(ROOT / "deploy" / "directory.yaml", mounted)
    generated = subprocess.run(
        [sys.executable, "-m", "services.admin", "rabbitmq-definitions"],
        cwd=app, env={**environment, "ZD_DIRECTORY": str(mounted)}, capture_output=True,
        text=True, timeout=120)
    assert generated.returncode == 0, generated.stderr
    assert json.loads(generated.stdout) == json.loads(
        (ROOT / "deploy" / "rabbitmq" / "definitions.json").read_text())
    # no directory mounted, none loaded: never the demo one by mistake
    unmounted = subprocess.run(
        [sys.executable, "-m", "services.admin", "rabbitmq-definitions"],
        cwd=app, env=environment, capture_output=True, text=True, timeout=120)
    assert unmounted.returncode != 0 and "Traceback" not in unmounted.stderr
    assert unmounted.stderr.startswith("no definitions: ") and "directory.yaml" in unmounted.stderr
    copy_application(stage("devsink"), app)
    sink = subprocess.run([sys.executable, "-c", "import services.devsink.web, services.devsink.smtp"],
                          cwd=app, env=environment, capture_output=True, text=True, timeout=120)
    assert sink.returncode == 0, sink.stderr


def test_the_devsink_target_runs_the_sink_and_checks_its_page():
    sink = stage("devsink")
    (cmd,) = steps(sink, "CMD")
    command = exec_form(cmd)
    assert command[:3] == ["python", "-m", "services.devsink"]
    options = dict(zip(command[3::2], command[4::2], strict=True))
    assert options["--bind"] == "0.0.0.0"
    exposed = {int(port) for arguments in steps(sink, "EXPOSE") for port in arguments.split()}
    assert exposed == {int(options["--smtp-port"]), int(options["--http-port"])}
    (check,) = steps(sink, "HEALTHCHECK")
    assert f"127.0.0.1:{options['--http-port']}/" in check
