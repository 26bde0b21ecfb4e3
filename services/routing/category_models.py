"""The learned category models an operator uploads: what routing checks of one before it
uses it, and how it lists them. Pure; their SQL is ``store``'s.

An operator trains a model from the tickets routing lists as labelled
(``GET /api/v1/category-models/examples``) and uploads it (``POST
/api/v1/category-models``): the newest one not retired is in use at once, in every
routing instance at its next concern. Retiring them (``POST
/api/v1/category-models/retire``) leaves the keywords alone to decide.
"""
from services.common.errors import BadRequest

#: a model of 60,000 features over a dozen categories is some 10 MB of JSON
MAX_MODEL_BYTES = 32 * 1024 * 1024


def check_categories(body, categories):
    """A model may only choose categories of the directory: BadRequest naming the others."""
    unknown = [code for code in body["categories"] if code not in categories]
    if unknown:
        raise BadRequest("The model chooses categories the directory does not have.", errors={
            "categories": [f"Unknown category {code}: train the model again on this directory."
                           for code in unknown]})


def listed(rows):
    """The models' rows (newest first), each with ``in_use``: the newest not retired."""
    in_use = next((row["version"] for row in rows if row["retired_at"] is None), None)
    return [{**row, "in_use": row["version"] == in_use} for row in rows]
