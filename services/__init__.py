"""Zero Distance: concerns of the public carried to representatives and departments.

psycopg 3 picks its wait function when first imported; its C implementation blocks
eventlet's hub, so every service process asks for the select-based one before any
module imports psycopg. ``services`` is imported first by every entrypoint.
"""
import os

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

import warnings

# eventlet announces its own deprecation on import; nameko 2.14 depends on it.
warnings.filterwarnings("ignore", category=DeprecationWarning, module="eventlet")
warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")
