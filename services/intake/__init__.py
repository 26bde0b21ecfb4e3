"""The intake service: the HTTP API district front-ends post concerns to."""
