"""`python -m services.notify` runs the notify service alone (see services.common.runner)."""
from services.common.runner import main

main("notify")
