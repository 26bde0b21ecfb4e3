"""The people who sign in to the workbench, found in the directory snapshot.

A person is a representative (party ``representative:<id>``), a staff member of a
district's liaison office (``congress:<district>``) or of a department
(``department:<code>``): the office's and the department's ``staff`` lists hold
``{id, name, contact}`` each. A person acts for their party, and is named as
themselves. Pure: reads a directory snapshot, no I/O.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str   # representative, congress or department: the role of the party they act for
    scope: str  # the representative's id, the office's district, the department's code
    contact: dict

    @property
    def party(self):
        """The party the person acts for, as API keys name it."""
        return f"{self.role}:{self.scope}"


def find_person(directory, person_id):
    """The person of the directory with this id, or None."""
    representative = directory["representatives"].get(person_id)
    if representative is not None:
        return Person(representative["id"], representative["name"], "representative",
                      representative["id"], representative.get("contact") or {})
    for code, district in directory["districts"].items():
        found = _staff_member((district.get("office") or {}).get("staff"), person_id)
        if found is not None:
            return Person(found["id"], found["name"], "congress", code, found.get("contact") or {})
    for code, department in directory["departments"].items():
        found = _staff_member(department.get("staff"), person_id)
        if found is not None:
            return Person(found["id"], found["name"], "department", code,
                          found.get("contact") or {})
    return None


def _staff_member(staff, person_id):
    return next((member for member in staff or () if member.get("id") == person_id), None)
