"""The routing service: the ticket workflow from representative to department and back.

Its map, dependencies pointing inward:

- entrypoints: ``service`` (the tickets API, department feedback over HTTP and AMQP,
  consumed events, the deadline and retention timers, the category report): parse,
  call a use case, answer;
- use cases (``use_cases``): ``inbound`` (what reaches routing, checked),
  ``workflow`` (load, decide, store, emit), ``actions`` (representatives' and offices'
  actions), ``reading`` (a ticket as they see it), ``deadlines``, ``retention``; each
  entrypoint's transaction is one ``step`` (the store port, the directory, the clock,
  and one ``ticket.*`` event per ticket when it ends), which the rules take instead of a
  connection;
- rules, pure: ``domain`` (the workflow's rules), ``categories``, ``category_changes``
  (the category report), ``duplicates`` and ``similarity``, ``snapshots`` (how a
  ticket is shown to others); wire shapes, loaded and dumped: ``schemas``;
- SQL of the ``routing`` schema: ``store``.
"""
