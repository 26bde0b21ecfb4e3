"""The intake service: the HTTP API district front-ends (and Open311 apps) post concerns to.

Its map, dependencies pointing inward:

- entrypoints: ``service`` (the concerns API, ratings, consumed events) and
  ``open311.api`` (GeoReport v2), each parse, call a use case, answer;
- use cases (``use_cases``): ``acceptance`` (a concern accepted once per front-end id),
  ``rating`` (the reporter's rating of a resolution), ``ticket_updates`` (the newest
  version of each ticket routing announced), ``retention`` (the reporter anonymised);
  they emit the events, through ``services.common.outbox``;
- rules, pure: ``domain`` (does a concern fit the directory and the key), ``contacts``,
  ``paging``; wire shapes, loaded and dumped: ``schemas``, and ``open311``'s;
- SQL of the ``intake`` schema: ``store``.
"""
