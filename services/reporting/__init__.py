"""The reporting service: the report figures from its own read model of tickets.

Its map, dependencies pointing inward:

- entrypoints: ``service`` (the reports API, the dashboard page, consumed events, the
  operator's rebuild): parse, call, answer; ``topic_runs`` computes hot topics in a
  thread of its own;
- use cases (``use_cases``): ``projection`` (a consumed event into the read model),
  ``rebuild`` (the read model again from its event log);
- rules, pure: ``domain`` (a ticket's facts), ``figures``, ``overdue``, ``topics``;
  wire shapes, loaded and dumped: ``schemas``; a report as CSV: ``csv_format``;
- SQL of the ``reporting`` schema: ``store``.
"""
