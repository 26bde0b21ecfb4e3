"""A district with no representative: its concerns go straight to the liaison office."""
import uuid

import requests

from tests.support.services import running, wait_until
from tests.support.system import fresh_system

DIRECTORY = """
districts:
  - code: nansha
    name: 南沙区
    communities:
      - {code: jiaomen, name: 蕉门社区, representatives: []}
    office: {name: 南沙区人大代表联络室, contact: {email: office@rd.nansha.example}}
representatives: []
categories:
  - {code: drainage, name: 排水, keywords: [下水道, 堵塞]}
departments:
  - {code: nansha-water, name: 南沙区水务局, districts: [nansha], categories: [drainage]}
"""


def test_concerns_go_to_the_office_and_on_by_the_rules(tmp_path):
    directory = tmp_path / "nansha.yaml"
    directory.write_text(DIRECTORY)
    keys, _, _ = fresh_system(directory)
    headers = {"Authorization": f"Bearer {keys['frontend:nansha']}"}
    with running("intake") as intake, running("routing"):
        def concern(description):
            answer = requests.post(f"{intake}/api/v1/concerns", headers=headers, json={
                "external_id": str(uuid.uuid4()), "district": "nansha", "community": "jiaomen",
                "channel": "mailbox", "description": description})
            assert answer.status_code == 202, answer.text
            ticket_id = answer.json()["ticket_id"]
            return lambda: requests.get(f"{intake}/api/v1/concerns/{ticket_id}",
                                        headers=headers).json()

        undecided, drainage = concern("想咨询一下政策"), concern("蕉门路下水道堵塞")
        shown = wait_until(lambda: undecided()["timeline"][-1]["action"] == "undecided"
                           and undecided(), what="the undecided concern with the office")
        assert shown["status"] == "forwarded" and shown["representative"] is None
        dispatched = wait_until(lambda: drainage()["status"] == "dispatched" and drainage(),
                                what="the drainage concern dispatched")
        assert dispatched["departments"][0]["department"] == "nansha-water"
