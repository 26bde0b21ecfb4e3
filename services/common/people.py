"""The people of the directory who sign in to the workbench, each as a ``Person``.

A representative signs in for themselves; a staff member of a district's congress
liaison office for the office (``congress:<district>``), one of a department for the
department (``department:<code>``). Every person's id is unique across the directory
(``services.common.directory``), so an id names one person and, through them, the
party they act for. Reads a normalized directory snapshot; one published before staff
existed has none (``.get(..., [])``). Pure: no I/O.
"""
from dataclasses import dataclass

REPRESENTATIVE, CONGRESS, DEPARTMENT = "representative", "congress", "department"


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str      # representative | congress (a liaison office's staff) | department
    scope: str     # the representative's id, the office's district or the department's code
    contact: dict  # {email, phone, wechat_openid, locale}, the channels they are told on

    @property
    def party(self) -> str:
        """The party they act for, as ``services.common.credentials.Party`` writes it."""
        return f"{self.role}:{self.scope}"


def people(directory) -> list[Person]:
    """Every person of the directory: representatives, then each office's staff (in the
    order of the districts), then each department's."""
    found = [Person(rep_id, representative.get("name"), REPRESENTATIVE, rep_id,
                    representative.get("contact") or {})
             for rep_id, representative in directory.get("representatives", {}).items()]
    for code, district in directory.get("districts", {}).items():
        found += _staff((district.get("office") or {}).get("staff", []), CONGRESS, code)
    for code, department in directory.get("departments", {}).items():
        found += _staff(department.get("staff", []), DEPARTMENT, code)
    return found


def find_person(directory, person_id) -> Person | None:
    """The person with this id, or None when the directory has nobody of that id."""
    return next((person for person in people(directory) if person.id == person_id), None)


def _staff(members, role, scope):
    return [Person(member["id"], member.get("name"), role, scope, member.get("contact") or {})
            for member in members]
