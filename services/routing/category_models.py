"""The category models routing keeps: how it lists them. Pure; their SQL is ``store``'s,
their training ``use_cases.category_model``'s.

The admin asks routing to train a model (``POST /api/v1/category-models``): the newest
one not retired is in use at once, in every routing instance at its next concern.
Retiring them (``POST /api/v1/category-models/retire``) leaves the keywords alone to
decide, until the next training.
"""


def listed(rows):
    """The models' rows (newest first), each with ``in_use``: the newest not retired."""
    in_use = next((row["version"] for row in rows if row["retired_at"] is None), None)
    return [{**row, "in_use": row["version"] == in_use} for row in rows]
