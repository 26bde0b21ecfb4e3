"""Starting one service as its own OS process: ``python -m services.<name>``.

Patches the standard library for eventlet before anything opens a socket, reads the
settings from the environment, and hands over to nameko's runner, which stops the
service cleanly on SIGTERM or Ctrl-C.
"""
import services  # noqa: F401  (sets PSYCOPG_WAIT_FUNC before psycopg is imported)

import eventlet

eventlet.monkey_patch()

import importlib  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402

from nameko.cli.run import run  # noqa: E402

from services.common.config import nameko_config  # noqa: E402

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
    logging.basicConfig(level=os.environ.get("ZD_LOG_LEVEL", "INFO"),
                        format=f"%(asctime)s {name} %(levelname)s %(name)s: %(message)s")
    config = nameko_config(name)
    logging.getLogger(__name__).info("%s listening on http://%s", name,
                                     config["WEB_SERVER_ADDRESS"])
    run([service_class(name)], config)
