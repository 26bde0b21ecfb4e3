"""The notify service's OpenAPI document: health and metrics only, for now."""
from services.common.openapi import build_spec

SPEC = build_spec("Zero Distance notify", "Records and sends the notifications of contract §8.", [])
