"""Open311 GeoReport v2 at ``/open311/v2/`` (docs/reference.md#open311-georeport-v2), for the Open311
apps a district
already has. One module a job:

- ``catalogue``: discovery, the services (the directory's categories) and their
  definitions (the community as a ``singlevaluelist``), from the directory (pure);
- ``requests``: a posted form read into a concern, and a stored concern shown as an
  Open311 service request (pure);
- ``formats``: the same documents in JSON or XML (ElementTree), errors included.
"""
