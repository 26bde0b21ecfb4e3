"""What a transaction has read once and may use again until it ends.

``Transactions.transaction`` (``services.common.db``) gives each transaction it opens a
dict, ``kept_for_transaction(conn)``, dropped when the transaction ends: the directory
snapshot read once per batch of messages rather than once per message, the
representatives a batch locks with its first count. A connection in no such transaction
keeps nothing (None). Imports no messaging library: stores and use cases use it.
"""
import weakref
from contextlib import contextmanager

_kept = weakref.WeakKeyDictionary()  # connection → what its current transaction keeps


def kept_for_transaction(conn):
    """A dict that lives as long as ``conn``'s current transaction of ``Transactions``
    (None for a connection in none: then nothing may be kept)."""
    return _kept.get(conn)


@contextmanager
def keeping(conn):
    """``conn``'s transaction keeps what it reads (``kept_for_transaction``) until the
    block ends."""
    _kept[conn] = {}
    try:
        yield conn
    finally:
        _kept.pop(conn, None)
