"""A TCP proxy in the (eventlet-patched) test process that a test can cut, freeze and
restore, to give one service a database or broker outage while the others keep theirs.

    with CuttableProxy(5432) as proxy:       # forwards 127.0.0.1:<proxy.port> to :5432
        url = proxy.url_for(database_url)    # the same URL through the proxy
        proxy.cut()                           # every connection closed, new ones refused
        proxy.restore()                       # accepting again
        proxy.freeze()                        # silent: nothing forwarded, nothing closed
        proxy.thaw()                          # forwarding again, what was held first
        proxy.accepted                        # how many connections it has taken so far

A cut is an outage both ends are told of at once (a reset). A freeze is a network
partition that drops packets: every socket stays open and new connections are still
taken, but no byte goes through either way, so each end finds out only by its own
timeouts and heartbeats.
"""
from urllib.parse import urlsplit, urlunsplit

import eventlet
from eventlet.event import Event
from eventlet.green import socket

from tests.support.system import free_port


class CuttableProxy:
    def __init__(self, target_port, target_host="127.0.0.1"):
        self.target = (target_host, target_port)
        self.port = free_port()
        self.server = self.acceptor = None
        self.sockets = set()
        self.accepted = 0  # connections taken (and forwarded) since it was made
        self.flowing = Event()  # sent while forwarding; a fresh one while frozen
        self.flowing.send()

    def url_for(self, url):
        """``url`` with its host and port replaced by the proxy's."""
        parts = urlsplit(url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{self.port}" if credentials else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def restore(self):
        self.server = eventlet.listen(("127.0.0.1", self.port))
        self.acceptor = eventlet.spawn(self._accept, self.server)

    def freeze(self):
        """Forward nothing more, either way, and close nothing, until ``thaw()``."""
        if self.flowing.ready():
            self.flowing = Event()

    def thaw(self):
        """Forward again, first what was held while frozen."""
        if not self.flowing.ready():
            self.flowing.send()

    def cut(self):
        """Stop listening and close every connection under way (a frozen one too)."""
        self.thaw()
        if self.acceptor is not None:
            self.acceptor.kill()
            self.acceptor = None
        if self.server is not None:
            self.server.close()
            self.server = None
        for sock in list(self.sockets):  # their pipes see the end and close them
            _shutdown(sock)

    def _accept(self, server):
        while True:
            client, _ = server.accept()
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            self.accepted += 1
            self.sockets.update((client, upstream))
            eventlet.spawn_n(self._pipe, client, upstream)
            eventlet.spawn_n(self._pipe, upstream, client)

    def _pipe(self, source, target):
        """Copy ``source`` to ``target`` until either ends. Each socket is read by one pipe
        only and closed by that pipe only: the other pipe is told by a shutdown, never by
        a close under its feet (eventlet would hand the closed descriptor's listener to
        whatever socket gets the same number next)."""
        try:
            while True:
                data = source.recv(65536)
                self.flowing.wait()  # held while frozen, an end of the stream too
                if not data:
                    break
                target.sendall(data)
        except (OSError, EOFError):
            pass
        finally:
            _shutdown(target)
            self.sockets.discard(source)
            source.close()

    def __enter__(self):
        self.restore()
        return self

    def __exit__(self, *exc_info):
        self.cut()


def _shutdown(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
