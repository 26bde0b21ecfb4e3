"""Intake's use cases: each one step the service takes for an entrypoint, in one transaction
with its inbox record and outbox rows, calling the pure rules and the store."""
