"""The notify service: tells the reporter, representative, office and department what happened.

Its map, dependencies pointing inward:

- entrypoints: ``service`` (the operators' notifications API, consumed events) and the
  ``courier`` (a dependency that sends what the notifications outbox holds, through
  ``channels``);
- use cases (``use_cases``): ``notifications`` (one consumed event: who hears what,
  recorded once), ``resending`` (a failed notification sent again on an operator's
  word), ``retention`` (the reporter anonymised);
- rules, pure: ``domain`` (who hears what, on which channel, in which language),
  ``messages`` (the words, from ``templates``), ``retries``, ``concurrency`` (how many
  deliveries at once a destination gets); wire shapes: ``schemas``;
- SQL of the ``notify`` schema: ``store``.
"""
