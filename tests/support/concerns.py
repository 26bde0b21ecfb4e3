"""A concern posted through intake's API, for the tests of a chain of running services
given as ``{"keys": ..., "intake": <intake's base URL>, ...}``: ``post_concern`` answers its
ticket id, ``bearer`` the header of a party's key."""
import uuid

import requests


def bearer(chain, party):
    return {"Authorization": f"Bearer {chain['keys'][party]}"}


def post_concern(chain, district, community, description, **fields):
    """A new concern (a fresh external id) of ``district``'s front-end; its ticket id."""
    body = {"external_id": str(uuid.uuid4()), "district": district, "community": community,
            "channel": "hotline", "description": description, **fields}
    answer = requests.post(f"{chain['intake']}/api/v1/concerns", json=body, timeout=10,
                           headers=bearer(chain, f"frontend:{district}"))
    assert answer.status_code == 202, answer.text
    return answer.json()["ticket_id"]
