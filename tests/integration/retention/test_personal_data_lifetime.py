"""A reporter's details have a lifetime (docs/operations.md#personal-data-retention-and-erasure): a
ticket's life to final through
the real services, time moved on past ``personal_data_days``, routing's expiry run; then
no table of any schema holds the reporter's name, phone, email or openid, the §9 figures
are what they were, each service counted what it anonymised, and a second run finds
nothing. An erasure request does the same at once, for an open ticket, and is audited."""
import logging
import uuid
import zlib
from datetime import timedelta

import psycopg
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from psycopg.rows import dict_row

from services.admin import cli
from services.common import events
from services.common.config import settings
from services.common.local_directory import current_directory
from services.common.migrate import SCHEMAS
from services.routing.use_cases import retention, workflow
from tests.support import events as made
from tests.support.services import RunningServices, running, wait_until
from tests.support.system import fresh_system

REPORTS = ("summary", "by-category", "by-district", "by-department", "by-representative")
DAYS = 180  # the demo directory's personal_data_days


def reporter(tag):
    """Details no other test uses, so that finding one anywhere means it was kept."""
    return {"name": f"退休教师{tag}", "phone": f"+86139{tag_digits(tag)}",
            "email": f"reporter.{tag}@retention.example", "wechat_openid": f"o-retention-{tag}",
            "wants_feedback": True}


def tag_digits(tag):
    return str(zlib.crc32(tag.encode()) % 10**8).zfill(8)


def details(person):
    """What must not be kept: each detail, and the phone's digits however it is written."""
    return [person["name"], person["phone"][1:], person["email"], person["wechat_openid"]]


@pytest.fixture(scope="module")
def four_services():
    keys, _, _ = fresh_system()
    with running("intake") as intake, running("routing") as routing, \
            running("notify") as notify, running("reporting") as reporting:
        yield RunningServices(keys, intake, routing, notify, reporting)


def bearer(four_services, party):
    return {"Authorization": f"Bearer {four_services.keys[party]}"}


def post_concern(four_services, description, person):
    answer = requests.post(f"{four_services.intake}/api/v1/concerns",
                           headers=bearer(four_services, "frontend:conghua"), json={
                               "external_id": str(uuid.uuid4()), "district": "conghua",
                               "community": "jiekou", "channel": "app",
                               "description": description, "reporter": person})
    assert answer.status_code == 202, answer.text
    return answer.json()["ticket_id"]


def concern(four_services, ticket_id):
    return requests.get(f"{four_services.intake}/api/v1/concerns/{ticket_id}",
                        headers=bearer(four_services, "frontend:conghua"), timeout=5).json()


def close(four_services, ticket_id, department):
    """The department resolves the dispatched ticket and the reporter is satisfied."""
    wait_until(lambda: concern(four_services, ticket_id)["status"] == "dispatched", timeout=30,
               what=f"{ticket_id} dispatched")
    dispatch = requests.get(f"{four_services.routing}/api/v1/tickets/{ticket_id}",
                            headers=bearer(four_services, "admin")).json()["departments"][-1]
    assert dispatch["department"] == department
    answer = requests.post(f"{four_services.routing}/api/v1/departments/{department}/feedback",
                           headers=bearer(four_services, f"department:{department}"),
                           json={"dispatch_id": dispatch["dispatch_id"], "status": "resolved",
                                 "result": "已处理"})
    assert answer.status_code == 200, answer.text
    wait_until(lambda: concern(four_services, ticket_id)["status"] == "resolved", timeout=30,
               what=f"{ticket_id} resolved")
    rated = requests.post(f"{four_services.intake}/api/v1/concerns/{ticket_id}/rating",
                          headers=bearer(four_services, "frontend:conghua"), json={"rating": "satisfied"})
    assert rated.status_code == 202, rated.text
    wait_until(lambda: concern(four_services, ticket_id)["status"] == "closed", timeout=30,
               what=f"{ticket_id} closed")


def query(sql, params=()):
    with psycopg.connect(settings().database_url, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def kept_anywhere(value):
    """``["schema.table.column", ...]`` of every text, JSON or array column of every
    schema that holds ``value`` (JSON read as jsonb, so that escaped characters match)."""
    columns = query("SELECT table_schema, table_name, column_name, data_type"
                    " FROM information_schema.columns WHERE table_schema = ANY(%s)"
                    " AND data_type IN ('text', 'character varying', 'json', 'jsonb', 'ARRAY')",
                    (list(SCHEMAS),))
    found = []
    with psycopg.connect(settings().database_url) as conn:
        for column in columns:
            place = f'"{column["table_schema"]}"."{column["table_name"]}"'
            read = f'"{column["column_name"]}"' + ("::jsonb" if column["data_type"] == "json" else "")
            hit = conn.execute(f"SELECT 1 FROM {place} WHERE strpos({read}::text, %s) > 0 LIMIT 1",
                               (value,)).fetchone()
            if hit:
                found.append(f"{column['table_schema']}.{column['table_name']}.{column['column_name']}")
    return found


def figures(four_services):
    answers = {}
    for report in REPORTS:
        answer = requests.get(f"{four_services.reporting}/api/v1/reports/{report}",
                              headers=bearer(four_services, "admin"), timeout=30)
        assert answer.status_code == 200, answer.text
        answers[report] = answer.json()
    return answers


def anonymised(four_services):
    """``{(service, kind): records}`` of ``zd_personal_data_anonymised_total``."""
    text = requests.get(f"{four_services.routing}/metrics", timeout=5).text
    return {(sample.labels["service"], sample.labels["kind"]): int(sample.value)
            for family in text_string_to_metric_families(text) for sample in family.samples
            if sample.name == "zd_personal_data_anonymised_total"}


def grown(before, after):
    return {key: value - before.get(key, 0) for key, value in after.items()
            if value != before.get(key, 0)}


def expire(now):
    with psycopg.connect(settings().database_url, row_factory=dict_row,
                         options="-c search_path=routing") as conn:
        return retention.expire(conn, current_directory(conn), now)


def intake_reporter(ticket_id):
    return query("SELECT reporter FROM intake.concerns WHERE ticket_id = %s", (ticket_id,))[0]["reporter"]


def notify_contact(ticket_id):
    rows = query("SELECT contact FROM notify.ticket_reporters WHERE ticket_id = %s", (ticket_id,))
    return rows[0]["contact"] if rows else None


def heard_of(ticket_id, template):
    return query("SELECT 1 FROM notify.notifications WHERE ticket_id = %s AND template = %s",
                 (ticket_id, template))


def test_a_final_tickets_reporter_is_anonymised_everywhere_after_personal_data_days(four_services,
                                                                                     caplog):
    caplog.set_level(logging.INFO, logger="services")
    sewer, power, still_open = reporter("a"), reporter("b"), reporter("c")
    sewer_id = post_concern(four_services, "街口路下水道堵塞，污水外溢", sewer)
    power_id = post_concern(four_services, "街口路整条街停电三个小时了", power)
    open_id = post_concern(four_services, "街口路下水道井盖松动", still_open)
    close(four_services, sewer_id, "conghua-water")   # its dispatch went to the department's queue
    close(four_services, power_id, "gz-power-supply")  # its dispatch went to notify, for the webhook
    for ticket_id in (sewer_id, power_id):
        wait_until(lambda ticket_id=ticket_id: heard_of(ticket_id, "ticket.closed.reporter"),
                   timeout=30, what="the reporter told of the closing")
    wait_until(lambda: figures(four_services)["summary"]["by_status"].get("closed") == 2, timeout=30,
               what="the reports count both closed tickets")
    for value in details(sewer) + details(power) + details(still_open):
        assert kept_anywhere(value), f"{value} was never stored: the search proves nothing"
    before, counted = figures(four_services), anonymised(four_services)

    done = expire(workflow.now() + timedelta(days=DAYS - 1))
    assert done["tickets"] == 0  # not yet
    done = expire(workflow.now() + timedelta(days=DAYS, minutes=1))
    assert done["tickets"] == 2 and done["dispatch_contact"] == 2
    wait_until(lambda: all(intake_reporter(t).get("anonymised") and notify_contact(t).get("anonymised")
                           for t in (sewer_id, power_id)), timeout=30,
               what="intake and notify anonymised the two reporters")

    for value in details(sewer) + details(power):
        assert kept_anywhere(value) == [], value
    for value in details(still_open):  # an open ticket keeps its reporter's details
        assert kept_anywhere(value)
    assert intake_reporter(open_id)["name"] == still_open["name"]
    assert intake_reporter(sewer_id) == {"anonymised": True, "wants_feedback": True,
                                         "locale": "zh-CN"}
    assert figures(four_services) == before
    assert grown(counted, anonymised(four_services)) == {
        ("routing", "dispatch_contact"): 2, ("routing", "outbox"): done["outbox"],
        ("intake", "reporter"): 2, ("intake", "outbox"): 4,  # reporter.contact, dispatch_contact
        ("notify", "contact"): 2, ("notify", "notification"): grown(counted, anonymised(four_services))[
            ("notify", "notification")]}
    assert done["outbox"] == 2  # each department's dispatch message
    assert grown(counted, anonymised(four_services))[("notify", "notification")] >= 3

    said = [record.getMessage() for record in caplog.records
            if record.name == "services.common.personal_data"]
    assert "personal data anonymised (expired): dispatch_contact 2, outbox 2" in said
    assert "personal data anonymised (expired): outbox 2, reporter 1" in said  # intake, each
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert not any(value in logged for value in details(sewer) + details(power))

    counted = anonymised(four_services)
    again = expire(workflow.now() + timedelta(days=DAYS * 2))
    assert again == {"tickets": 0, "dispatch_contact": 0, "outbox": 0}
    assert grown(counted, anonymised(four_services)) == {}


def test_an_erasure_request_anonymises_an_open_tickets_reporter_at_once_and_is_audited(four_services,
                                                                                        capsys):
    person = reporter("d")
    ticket_id = post_concern(four_services, "街口路路灯不亮", person)
    wait_until(lambda: notify_contact(ticket_id) and heard_of(ticket_id, "concern.received.reporter"),
               timeout=30, what="notify has the reporter's contact")
    wait_until(lambda: query("SELECT 1 FROM routing.dispatch_contacts WHERE ticket_id = %s",
                             (ticket_id,)), timeout=30, what="routing has the dispatch contact")
    before, counted = figures(four_services), anonymised(four_services)

    cli.main(["personal-data", "erase", ticket_id, "--requested-by", "office-conghua-chen",
              "--reason", "the reporter asked by phone"])
    assert f"ticket {ticket_id}" in capsys.readouterr().out
    wait_until(lambda: intake_reporter(ticket_id).get("anonymised")
               and notify_contact(ticket_id).get("anonymised")
               and query("SELECT 1 FROM routing.dispatch_contacts WHERE ticket_id = %s"
                         " AND name IS NULL AND phone IS NULL", (ticket_id,)),
               timeout=30, what="every service anonymised the reporter")
    for value in details(person):
        assert kept_anywhere(value) == [], value
    (audit,) = query("SELECT ticket_id, requested_by, reason, requested_at FROM admin.erasure_requests"
                     " WHERE ticket_id = %s", (ticket_id,))
    assert audit["requested_by"] == "office-conghua-chen"
    assert audit["reason"] == "the reporter asked by phone"
    assert abs(audit["requested_at"] - workflow.now()) < timedelta(minutes=5)
    assert figures(four_services) == before
    counts = grown(counted, anonymised(four_services))
    assert counts[("intake", "reporter")] == 1 and counts[("notify", "contact")] == 1
    assert counts[("routing", "dispatch_contact")] == 1

    counted = anonymised(four_services)  # asked again: recorded again, nothing more to anonymise
    cli.main(["personal-data", "erase", ticket_id, "--requested-by", "office-conghua-chen"])
    wait_until(lambda: len(query("SELECT 1 FROM intake.inbox WHERE type = 'personal_data.expired'"
                                 " AND message_id LIKE 'personal-data-erasure-%%'")) >= 2
               and len(query("SELECT 1 FROM notify.inbox WHERE message_id LIKE"
                             " 'personal-data-erasure-%%'")) >= 2, timeout=30,
               what="the second request consumed")
    assert grown(counted, anonymised(four_services)) == {}
    assert len(query("SELECT 1 FROM admin.erasure_requests WHERE ticket_id = %s", (ticket_id,))) == 2


@pytest.mark.parametrize("argv", [
    ["personal-data", "erase", "ZD20261205-0000BEEF"],  # who asked is required
    ["personal-data", "erase", "not a ticket", "--requested-by", "office-conghua-chen"],
    ["personal-data", "erase", "ZD20261205-0000BEEF", "--requested-by", "  "],
])
def test_an_erasure_request_without_its_ticket_or_who_asked_is_refused_and_records_nothing(
        four_services, argv):
    with pytest.raises(SystemExit) as refused:
        cli.main(argv)
    assert refused.value.code not in (0, None)
    assert query("SELECT 1 FROM admin.erasure_requests WHERE ticket_id = %s", (argv[2],)) == []


def consumed(schema, message_id):
    return query(f"SELECT 1 FROM {schema}.inbox WHERE message_id = %s", (message_id,))


def test_a_contact_that_comes_after_its_erasure_is_not_kept(four_services):
    """Intake sends the contacts with the concern: an erasure asked at once may overtake them."""
    person = reporter("e")
    ticket_id = "ZD20261205-0E0A5E01"
    erasure = events.personal_data_expired(ticket_id, events.ERASURE, 990001)
    made.publish(erasure)
    for schema in ("notify", "routing"):
        wait_until(lambda schema=schema: consumed(schema, erasure.message_id), timeout=30,
                   what=f"{schema} heard of the erasure")
    contact, dispatch_contact = made.concern_events(ticket_id, reporter=person)[:2]
    made.publish(contact, dispatch_contact)
    wait_until(lambda: consumed("notify", contact.message_id)
               and consumed("routing", dispatch_contact.message_id), timeout=30,
               what="the contacts consumed")
    for value in details(person):
        assert kept_anywhere(value) == [], value
    assert notify_contact(ticket_id) == {"anonymised": True}
