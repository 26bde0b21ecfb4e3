"""``python -m services.devsink [--bind 127.0.0.1] [--smtp-port 1025] [--http-port 8025]``.

Starts the SMTP server, then the HTTP server, prints one line when both are ready, and
runs until SIGTERM or SIGINT, then stops both and exits 0.
"""
import argparse
import signal
import threading

from services.devsink.announce import announce
from services.devsink.smtp import smtp_server
from services.devsink.store import Store
from services.devsink.web import SinkServer


def arguments():
    parser = argparse.ArgumentParser(
        prog="python -m services.devsink",
        description="Play the SMTP server, SMS and WeChat gateways and webhook endpoints for development.")
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--smtp-port", type=int, default=1025, help="SMTP port (default 1025)")
    parser.add_argument("--http-port", type=int, default=8025, help="HTTP port (default 8025)")
    return parser.parse_args()


def main():
    options = arguments()
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    store = Store(on_accept=announce)
    smtp = smtp_server(store, options.bind, options.smtp_port)
    smtp.start()
    web = SinkServer((options.bind, options.http_port), store)
    threading.Thread(target=web.serve_forever, name="devsink-http", daemon=True).start()
    print(f"devsink: SMTP on {options.bind}:{options.smtp_port}, gateways, webhooks and the page on"
          f" http://{options.bind}:{options.http_port}", flush=True)
    try:
        stopping.wait()
    finally:
        web.shutdown()
        web.server_close()
        smtp.stop()


if __name__ == "__main__":
    main()
