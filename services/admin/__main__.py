"""`python -m services.admin ...`: see services.admin.cli."""
import services  # noqa: F401
from services.admin.cli import main

main()
