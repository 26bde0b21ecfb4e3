"""Looking into the test vhost's queues directly, as an operator would: how many
messages wait, every one of them (taken), or none (purged); and a connection whose
publishes the broker confirms, for tests that publish as a service or a department."""
from kombu import Connection, Queue

from services.common.config import settings


def confirmed_connection(uri=None):
    """A connection whose every publish waits for the broker's confirm: a test publisher
    without confirms can lose its last messages when it closes (the broker discards
    what it had not read yet when the socket is reset), and a test then waits for what
    never came."""
    return Connection(uri or settings().amqp_uri, transport_options={"confirm_publish": True})


def queued(name):
    """How many messages wait in ``name``."""
    with Connection(settings().amqp_uri) as connection:
        return connection.SimpleQueue(Queue(name, no_declare=True)).qsize()


def drain(name, wait=1):
    """Every message waiting in ``name``, acknowledged (gone from the queue)."""
    with Connection(settings().amqp_uri) as connection:
        with connection.SimpleQueue(Queue(name, no_declare=True)) as simple:
            found = []
            while True:
                try:
                    message = simple.get(block=True, timeout=wait)
                except simple.Empty:
                    return found
                message.ack()
                found.append(message)


def purge(name):
    with Connection(settings().amqp_uri) as connection:
        Queue(name, no_declare=True)(connection.channel()).purge()
