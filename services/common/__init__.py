"""Infrastructure shared by every service: database, messaging, HTTP, metrics.

Nothing here knows a domain rule; services import what they need from the modules.
"""
