"""The admin CLI: migrations, topology, directory loads, API keys, department users.

Its map: ``cli`` (the command line: parse, call, print) → use cases (``use_cases``:
``operations``, what each command does over one ``Admin`` context) → the broker's
management API (``rabbit_management``), the rules of who may do what
(``broker_access``, ``database_roles``, ``definitions``), parked messages (``parked``)
and the admin schema's tables. What belongs to another service the admin asks of it over
HTTP with the admin key (``service_api``: routing's category report, laid out by
``category_report``; reporting's rebuild); it imports no other service's package.
"""
