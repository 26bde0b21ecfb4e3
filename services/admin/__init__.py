"""The admin CLI: migrations, topology, directory loads, API keys, department users.

Its map: ``cli`` (the command line: parse, call, print) → use cases (``use_cases``:
``operations``, what each command does over one ``Admin`` context) → the broker's
management API (``rabbit_management``), the rules of who may do what
(``broker_access``, ``database_roles``, ``definitions``), parked messages (``parked``)
and the admin schema's tables.
"""
