"""`python -m services.intake` runs the intake service alone (see services.common.runner)."""
from services.common.runner import main

main("intake")
