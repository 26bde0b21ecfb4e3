"""The admin's use cases: what each command of the CLI does, as functions over one
``Admin`` context."""
