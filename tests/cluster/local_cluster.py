"""Three RabbitMQ nodes of the locally installed RabbitMQ, joined into one cluster on loopback.

``LocalCluster`` owns everything it starts, and nothing else: the nodes ``zd-c1@localhost``,
``zd-c2@localhost`` and ``zd-c3@localhost`` (AMQP on 5701-5703, management API on
15701-15703, Erlang distribution on 25701-25703; the next free block of ten when one of
those ports is taken), their configuration, data, plugin and log directories under one
temporary directory, and an Erlang cookie of their own in that directory (the ``HOME`` of
the nodes and of the ``rabbitmqctl`` calls made here). Because of that cookie, no command
sent from here can reach another node of the machine, the machine's own RabbitMQ
(``rabbit@<host>``, 5672/15672) above all. Leaving the context (even on failure) shuts the
nodes down, kills what is left of their process groups and removes the directory.

Each node reads only its own files: ``RABBITMQ_CONF_ENV_FILE`` points at an empty file, so
``/etc/rabbitmq/rabbitmq-env.conf`` and ``/etc/rabbitmq/rabbitmq.conf`` are never read.

    python -m tests.cluster.local_cluster   # starts the cluster, prints its URIs; Ctrl-C ends it
"""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

RABBITMQ_BIN = Path(os.environ.get("ZD_RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))
NODES = 3
FIRST_BASE = 5701  # AMQP port of the first node; management +10000, distribution +20000
START_SECONDS = 90
CTL_SECONDS = 120


@dataclass(frozen=True)
class Node:
    index: int
    name: str  # zd-c1@localhost
    amqp_port: int
    management_port: int
    dist_port: int
    directory: Path

    @property
    def short(self):
        return self.name.split("@")[0]

    def amqp_uri(self, user="guest", password="guest", vhost=""):
        return f"amqp://{user}:{password}@127.0.0.1:{self.amqp_port}/{vhost}"

    @property
    def management_url(self):
        return f"http://guest:guest@127.0.0.1:{self.management_port}"


class ClusterError(RuntimeError):
    pass


def _port_free(port):
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _registered_names():
    """Node names epmd knows on this machine (``rabbit``, ``zd-c1``, ...)."""
    try:
        out = subprocess.run(["epmd", "-names"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return set()
    return {line.split()[1] for line in out.splitlines() if line.startswith("name ")}


class LocalCluster:
    def __init__(self, root=None, nodes=NODES, first_base=FIRST_BASE, prefix="zd-c"):
        self.owned_root = root is None
        self.root = Path(root or tempfile.mkdtemp(prefix="zd-cluster-"))
        self.count = nodes
        self.first_base = first_base
        self.prefix = prefix
        self.nodes = []
        self.processes = {}  # node name → the rabbitmq-server process started for it
        self.home = self.root / "home"

    # -- setting up ------------------------------------------------------------------

    def _choose_ports(self):
        taken = _registered_names()
        for base in range(self.first_base, self.first_base + 200, 10):
            ports = [base + offset + i for offset in (0, 10000, 20000) for i in range(self.count)]
            suffix = "" if base == self.first_base else f"-{base}"
            names = [f"{self.prefix}{i + 1}{suffix}" for i in range(self.count)]
            if all(_port_free(port) for port in ports) and not taken & set(names):
                return base, names
        raise ClusterError("no free block of ports for the cluster's nodes")

    def _prepare(self):
        base, names = self._choose_ports()
        self.home.mkdir(parents=True, exist_ok=True)
        cookie = self.home / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(20).upper())
        cookie.chmod(0o400)
        for i, short in enumerate(names):
            directory = self.root / short
            node = Node(i + 1, f"{short}@localhost", base + i, base + 10000 + i, base + 20000 + i,
                        directory)
            directory.mkdir(parents=True, exist_ok=True)
            (directory / "rabbitmq.conf").write_text(
                f"listeners.tcp.default = 127.0.0.1:{node.amqp_port}\n"
                f"management.tcp.ip = 127.0.0.1\n"
                f"management.tcp.port = {node.management_port}\n"
                "cluster_partition_handling = pause_minority\n"
                "log.file.level = info\n"
                "log.console = false\n")
            (directory / "enabled_plugins").write_text("[rabbitmq_management].\n")
            (directory / "rabbitmq-env.conf").write_text("")
            self.nodes.append(node)

    def env(self, node):
        """The environment of ``node``'s server and of ``rabbitmqctl`` calls made on it."""
        keep = {key: value for key, value in os.environ.items()
                if not key.startswith(("RABBITMQ_", "ERL_"))}
        directory = node.directory
        return {
            **keep,
            "HOME": str(self.home),  # the cookie
            "RABBITMQ_NODENAME": node.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(node.amqp_port),
            "RABBITMQ_DIST_PORT": str(node.dist_port),
            "RABBITMQ_CONFIG_FILE": str(directory / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(directory / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(directory / "rabbitmq-env.conf"),
            "RABBITMQ_MNESIA_BASE": str(directory / "mnesia"),
            "RABBITMQ_LOG_BASE": str(directory / "log"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": str(directory / "plugins-expand"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(directory / "enabled_plugins"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    # -- commands ------------------------------------------------------------------------

    def ctl(self, node, *args, tool="rabbitmqctl", check=True, timeout=CTL_SECONDS):
        """Run ``rabbitmqctl`` (or ``rabbitmq-queues``, ...) against ``node``; its stdout."""
        done = subprocess.run([str(RABBITMQ_BIN / tool), "-n", node.name, *args], env=self.env(node),
                              capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise ClusterError(f"{tool} -n {node.name} {' '.join(args)} failed ({done.returncode}):"
                               f" {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def start_server(self, node):
        """Start ``node``'s Erlang VM and RabbitMQ (in a process group of its own)."""
        output = open(node.directory / "server.out", "ab")
        self.processes[node.name] = subprocess.Popen(
            [str(RABBITMQ_BIN / "rabbitmq-server")], env=self.env(node), stdout=output,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        output.close()

    def await_started(self, node, timeout=START_SECONDS):
        deadline = time.monotonic() + timeout
        while True:
            process = self.processes.get(node.name)
            if process is not None and process.poll() is not None:
                raise ClusterError(f"{node.name} exited ({process.returncode}); see"
                                   f" {node.directory / 'server.out'}")
            done = subprocess.run([str(RABBITMQ_BIN / "rabbitmqctl"), "-n", node.name, "await_startup",
                                   "--timeout", "30"], env=self.env(node), capture_output=True,
                                  text=True, timeout=60)
            if done.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise ClusterError(f"{node.name} did not start in {timeout}s: {done.stderr.strip()}")
            time.sleep(1)

    def start(self):
        self._prepare()
        for node in self.nodes:  # in parallel: the VMs boot while the next one starts
            self.start_server(node)
        for node in self.nodes:
            self.await_started(node)
        first = self.nodes[0]
        for node in self.nodes[1:]:
            self.ctl(node, "stop_app")
            self.ctl(node, "join_cluster", first.name)
            self.ctl(node, "start_app")
        running = self.running_nodes()
        if sorted(running) != sorted(node.name for node in self.nodes):
            raise ClusterError(f"the cluster runs {running}, not every node")
        return self

    def cluster_status(self, via=None):
        node = via or self.nodes[0]
        return json.loads(self.ctl(node, "cluster_status", "--formatter", "json"))

    def running_nodes(self, via=None):
        return self.cluster_status(via)["running_nodes"]

    def stop_app(self, node):
        self.ctl(node, "stop_app")

    def start_app(self, node):
        self.ctl(node, "start_app")
        self.ctl(node, "await_startup", "--timeout", "60")

    def kill(self, node):
        """Kill ``node``'s Erlang VM at once (SIGKILL to the process group started for it):
        a crash, where ``stop_app`` is an orderly stop."""
        process = self.processes.pop(node.name)
        _kill_group(process)

    def restart(self, node):
        """Start a killed ``node`` again; it rejoins the cluster it was in."""
        self.start_server(node)
        self.await_started(node)

    def quorum_status(self, node, queue, vhost="/"):
        return self.ctl(node, "quorum_status", queue, "--vhost", vhost, tool="rabbitmq-queues")

    def node_by_name(self, name):
        return next(node for node in self.nodes if node.name == name)

    def node_by_port(self, port):
        return next((node for node in self.nodes if node.amqp_port == port), None)

    # -- tearing down ----------------------------------------------------------------------

    def stop(self):
        """Shut every node down (killing its process group when it will not go), and remove
        the cluster's directory. Only the processes started here are touched."""
        shutting = []
        for node in self.nodes:  # all at once: each takes seconds
            process = self.processes.get(node.name)
            if process is not None and process.poll() is None:
                shutting.append(subprocess.Popen(
                    [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", node.name, "shutdown"],
                    env=self.env(node), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for command in shutting:
            try:
                command.wait(timeout=60)
            except subprocess.TimeoutExpired:
                command.kill()
                command.wait()
        for node in self.nodes:
            process = self.processes.get(node.name)
            if process is None:
                continue
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            _kill_group(process)
        self.processes.clear()
        if self.owned_root:
            shutil.rmtree(self.root, ignore_errors=True)
        else:  # the caller's directory: the nodes' logs stay, their data and cookie go
            shutil.rmtree(self.home, ignore_errors=True)
            for node in self.nodes:
                for data in ("mnesia", "plugins-expand"):
                    shutil.rmtree(node.directory / data, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()


def _kill_group(process, timeout=15):
    """SIGKILL to the process group started for one node (its shell and Erlang VM), and
    wait until none of it is left: a VM still dying would write into a removed directory."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.1)


def main():
    with LocalCluster() as cluster:
        print("cluster running:", ", ".join(cluster.running_nodes()))
        print("ZD_AMQP_URI=" + ";".join(node.amqp_uri() for node in cluster.nodes))
        print("management:", ", ".join(node.management_url for node in cluster.nodes))
        print("Ctrl-C stops it.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
