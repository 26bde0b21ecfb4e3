"""`python -m services.admin ...`: see services.admin.cli. What a command answers is printed on
stdout, for a person or a script; its log goes to stderr as the services' does
(``services.common.log_format``: JSON lines unless ``ZD_LOG_FORMAT=text``, ``ZD_LOG_LEVEL``),
so a deployment's collector reads the migration job's lines as any other."""
import services  # noqa: F401
from services.admin.cli import main
from services.common.log_format import configure

configure("admin")
main()
