"""`python -m services.routing` runs the routing service alone (see services.common.runner)."""
from services.common.runner import main

main("routing")
