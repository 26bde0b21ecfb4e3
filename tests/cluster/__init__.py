"""The cluster test: three local RabbitMQ nodes, one stopped under load (``make cluster-test``)."""
