"""Routing's use cases: each one step the service takes for an entrypoint, in one transaction
with its inbox record and outbox rows, calling the pure rules and the store. The rules of
the workflow take that step (``step.Step``: the store port, the directory, the clock, the
changes to announce), not a connection."""
