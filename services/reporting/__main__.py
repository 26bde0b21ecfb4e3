"""`python -m services.reporting` runs the reporting service alone (see services.common.runner)."""
from services.common.runner import main

main("reporting")
