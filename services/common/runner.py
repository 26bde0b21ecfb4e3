"""Starting one service as its own OS process: ``python -m services.<name>``.

Patches the standard library for eventlet before anything opens a socket, reads the
settings from the environment, and runs the service with nameko's ``ServiceRunner``
until SIGTERM or SIGINT (Ctrl-C). The first of those stops it cleanly; later ones
are ignored, because two concurrent stops of a nameko runner never finish (Ctrl-C in
a terminal reaches the whole process group, and a supervisor may add its SIGTERM).
Every line the process logs goes through ``RedactingFilter``: no secret reaches its
stderr, whatever logged it. Lines are JSON objects, or text with ``ZD_LOG_FORMAT=text``
(``log_format``). Its spans are exported when an OTLP endpoint is configured
(``tracing.setup``).
"""
# isort: off
import services  # noqa: F401  (sets PSYCOPG_WAIT_FUNC before psycopg is imported)
import eventlet

eventlet.monkey_patch()
# isort: on

import errno  # noqa: E402
import importlib  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from services.common import topology, tracing  # noqa: E402
from services.common.config import DECLARE_OWN, nameko_config  # noqa: E402
from services.common.log_format import configure  # noqa: E402

SERVICE_CLASSES = {
    "intake": "services.intake.service:IntakeService",
    "routing": "services.routing.service:RoutingService",
    "notify": "services.notify.service:NotifyService",
    "reporting": "services.reporting.service:ReportingService",
}


def service_class(name):
    module, _, cls = SERVICE_CLASSES[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def main(name):
    configure(name)
    tracing.setup(name)
    config = nameko_config(name)
    if config["ZD_DECLARE_TOPOLOGY"] == DECLARE_OWN:
        topology.declare_only_own_queues()
    logging.getLogger(__name__).info("%s listening on http://%s", name,
                                     config["WEB_SERVER_ADDRESS"])
    serve(service_class(name), config)


def serve(cls, config):
    runner = ServiceRunner(config)
    runner.add_service(cls)
    requested, started, stopped = [], [], []

    def stop_runner():  # runs in a green thread: nothing interleaves check and set
        if not stopped:
            stopped.append(True)
            runner.stop()

    def on_signal(signum, frame):
        # signal handlers run in the main loop and cannot block: stop from a green
        # thread, and only once started (nameko hangs when a stop overtakes a starting
        # consumer)
        requested.append(signum)
        if started:
            eventlet.spawn_n(stop_runner)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    runner.start()
    started.append(True)
    if requested:
        eventlet.spawn_n(stop_runner)
    waiting = eventlet.spawn(runner.wait)
    while True:
        try:
            waiting.wait()
            break
        except OSError as exc:  # a signal interrupted the hub's wait
            if exc.errno != errno.EINTR:
                raise
    for signum in (signal.SIGTERM, signal.SIGINT):  # stopped: later signals change nothing
        signal.signal(signum, signal.SIG_IGN)
