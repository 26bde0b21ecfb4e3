"""The image's Dockerfile and .dockerignore, read as text (no Docker engine needed): two
stages from one pinned base, the pinned dependencies, a runtime stage without build tools
that runs as a fixed non-root user, and a health check and default command that are run
here against a stand-in server and a stand-in python."""
import fnmatch
import json
import os
import re
import shlex
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
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            result.append({"base": words[0], "name": name, "steps": []})
        else:
            assert result, f"{keyword} before the first FROM"
            result[-1]["steps"].append((keyword, arguments))
    return result


def steps(stage, keyword):
    return [arguments for kind, arguments in stage["steps"] if kind == keyword]


def final():
    return stages()[-1]


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
    """``(options, command)`` of the final stage's only HEALTHCHECK."""
    (arguments,) = steps(final(), "HEALTHCHECK")
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


def test_two_stages_from_the_same_base_pinned_by_tag():
    builder, runtime = stages()
    assert builder["name"] == "builder"
    assert builder["base"] == runtime["base"] == BASE
    for stage in (builder, runtime):
        image, _, tag = stage["base"].partition(":")
        assert tag and tag != "latest" and "$" not in stage["base"], stage["base"]


def test_the_builder_installs_the_pinned_runtime_dependencies_and_the_devstack_extra():
    builder = stages()[0]
    (install,) = steps(builder, "RUN")
    assert "pip install -c constraints.txt -r requirements.txt" in install
    assert [sources for _, sources, _ in copies(builder)] == [["pyproject.toml", "constraints.txt"]]
    # the requirements are what the RUN's own script reads out of pyproject.toml
    script = re.search(r'python -c "([^"]*)"\s*> requirements.txt', install).group(1)
    listed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, check=True, timeout=30).stdout.split()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert listed == project["dependencies"] + project["optional-dependencies"]["devstack"]
    assert any(requirement.startswith("aiosmtpd==") for requirement in listed)
    pinned = dict(map(str.strip, line.split("==")) for line in
                  (ROOT / "constraints.txt").read_text().splitlines() if "==" in line)
    pinned = {normalized(name): version for name, version in pinned.items()}
    for requirement in listed:
        name, version = requirement.split("==")
        assert pinned.get(normalized(re.sub(r"\[.*\]", "", name))) == version, requirement


def test_the_runtime_stage_copies_only_the_virtualenv_and_the_application():
    runtime = final()
    copied = copies(runtime)
    assert [(options, sources) for options, sources, _ in copied if options] == [
        (["--from=builder"], ["/opt/venv"])]
    application = {source for options, sources, _ in copied if not options for source in sources}
    assert application == {"services/", "deploy/directory.yaml"}
    assert steps(runtime, "WORKDIR") == ["/app"]
    assert env_of(runtime)["PATH"].startswith("/opt/venv/bin:")


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
                 "deploy/compose/env/admin.env"):
        assert dockerignore_excludes(path), path
    for path in ("services/common/config.py", "deploy/directory.yaml", "pyproject.toml",
                 "constraints.txt"):
        assert not dockerignore_excludes(path), path


def test_the_runtime_stage_runs_as_a_fixed_non_root_user():
    runtime = final()
    users = steps(runtime, "USER")
    assert len(users) == 1
    uid, _, gid = users[0].partition(":")
    assert uid.isdigit() and int(uid) >= 1000, "a numeric uid, so runAsNonRoot can check it"
    assert gid.isdigit() and int(gid) >= 1000
    created = " ".join(steps(runtime, "RUN"))
    assert f"useradd --system --uid {uid} --gid {gid}" in created
    # the code and the virtualenv stay root's: the user that runs them cannot change them
    assert not [options for options, _, _ in copies(runtime) if any("--chown" in o for o in options)]


def test_the_runtime_stage_has_no_build_tools():
    for command in steps(final(), "RUN"):
        assert not BUILD_TOOLS.search(command), command


def test_environment_and_ports():
    env = env_of(final())
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["ZD_BIND"] == "0.0.0.0"
    exposed = {int(port) for arguments in steps(final(), "EXPOSE") for port in arguments.split()}
    assert exposed == set(DEFAULT_PORTS.values()) == {8001, 8002, 8003, 8004}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def health_server(tmp_path):
    """A server on a free port that answers 200 to /health and 404 to anything else."""
    (tmp_path / "health").write_text("ok\n")
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


def test_the_healthcheck_asks_the_health_of_the_service_the_container_runs(health_server):
    options, _ = healthcheck()
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
    (tmp_path / "health").unlink()  # the stand-in server answers 404 now
    answer = run_healthcheck({"ZD_SERVICE": "intake", "ZD_INTAKE_PORT": str(health_server)})
    assert answer.returncode != 0 and "HTTP Error 404" in answer.stderr


def test_the_default_command_runs_the_service_named_by_zd_service(tmp_path):
    (cmd,) = steps(final(), "CMD")
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


def test_the_files_the_image_copies_are_enough_to_run_every_part(tmp_path):
    """The application files of the runtime stage, copied alone into an /app of their own,
    import every service and the sink and run the admin CLI with its default directory
    (the installed dependencies stand in for the image's virtual environment)."""
    app = tmp_path / "app"
    for options, sources, destination in copies(final()):
        if any(option.startswith("--from") for option in options):
            continue
        for source in sources:
            target = app / destination
            target.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["cp", "-r", str(ROOT / source.rstrip("/")), str(target)], check=True)
    environment = {"PATH": os.environ["PATH"], "PYTHONPATH": str(app), "HOME": str(tmp_path)}
    imported = subprocess.run(
        [sys.executable, "-c", "import services, services.intake.service, services.routing.service,"
         " services.notify.service, services.reporting.service, services.devsink.web,"
         " services.admin.cli; print(services.__file__)"],
        cwd=app, env=environment, capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == str(app / "services" / "__init__.py")
    generated = subprocess.run(
        [sys.executable, "-m", "services.admin", "rabbitmq-definitions"],
        cwd=app, env=environment, capture_output=True, text=True, timeout=120)
    assert generated.returncode == 0, generated.stderr
    assert json.loads(generated.stdout) == json.loads(
        (ROOT / "deploy" / "rabbitmq" / "definitions.json").read_text())
