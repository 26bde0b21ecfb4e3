"""Loading the directory again with changes updates running services and keeps tickets."""
import uuid

import requests

from services.admin.use_cases import operations as ops
from tests.support.services import running, wait_until
from tests.support.system import DEMO_DIRECTORY, fresh_system


def test_reloaded_policy_applies_to_new_concerns_and_old_tickets_stay(tmp_path):
    keys, _, _ = fresh_system()
    headers = {"Authorization": f"Bearer {keys['frontend:baiyun']}"}

    def post():
        answer = requests.post(f"{intake}/api/v1/concerns", headers=headers, json={
            "external_id": str(uuid.uuid4()), "district": "baiyun", "community": "tonghe",
            "channel": "hotline", "description": "同和路下水道堵塞"})
        assert answer.status_code == 202, answer.text
        return answer.json()["ticket_id"]

    def status(ticket_id):
        return requests.get(f"{intake}/api/v1/concerns/{ticket_id}", headers=headers).json()["status"]

    with running("intake") as intake, running("routing") as routing:
        before = post()
        wait_until(lambda: status(before) == "assigned", what="assigned under the demo policy")

        changed = tmp_path / "directory.yaml"
        changed.write_text(DEMO_DIRECTORY.read_text().replace(
            "  auto_forward: false", "  auto_forward: true", 1))
        admin = ops.Admin.open()
        try:
            version, _ = ops.load_directory_files(admin, [changed])
        finally:
            admin.close()
        wait_until(lambda: requests.get(f"{routing}/health").json()["directory_version"] == version,
                   what="routing has the new directory")

        after = post()
        wait_until(lambda: status(after) == "dispatched", what="dispatched under the new policy")
        assert status(before) == "assigned"
