"""The directory: the jurisdiction that Zero Distance serves, read from YAML.

Owns the directory file format (docs/reference.md#the-directory): districts with their
communities and congress liaison office, representatives, categories with their
keywords (each with a weight), departments with their delivery, the staff who sign in
for an office or a department, and the policy of deadlines, categorisation and how long
personal data is kept (``personal_data_days``).
It reads one or more files (``services.common.yaml_lines``), checks the shape of each
(``services.common.directory_schema``) and then the rules across entries: codes given
once, every person's id (representatives and staff) once across the whole directory,
references to districts, representatives and categories that exist, one policy.
Each problem is reported as "file:line: message", all of them at once, in one
DirectoryError; the result is a normalized, JSON-serialisable snapshot. No I/O beyond
reading the given files; no broker or database imports.
"""
from pathlib import Path

import yaml
from marshmallow import ValidationError

from services.common import directory_schema, yaml_lines
from services.common.directory_schema import DEFAULT_KEYWORD_WEIGHT, AtTheKey, AtTheKeyAgain, Unlike
from services.common.words import normalized

__all__ = ["DEFAULT_KEYWORD_WEIGHT", "DEFAULT_POLICY", "DirectoryError", "load_directory",
           "parse_directory", "shortest_personal_data_days", "with_current_defaults"]

LISTS = ("districts", "representatives", "categories", "departments")
DEFAULT_POLICY = {
    "representative_hours": 24, "congress_hours": 8, "auto_forward": False,
    "auto_dispatch": True, "reopen_limit": 2, "timezone": "Asia/Shanghai", "calendar": None,
    "category_confidence": 0.6,
    "duplicates": "ignore", "duplicate_days": 14, "duplicate_radius_m": 200,
    "duplicate_suggest": 0.35, "duplicate_auto_merge": 0.7,
    "personal_data_days": 180,
    # what Open311 shows without a key: no description, address or photo unless published
    "open311_public": ["status", "service", "times", "agency", "status_notes", "point"],
}


class DirectoryError(ValueError):
    """Raised with every problem found; .errors is a list of "path:line: message"."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


def load_directory(paths) -> dict:
    """Read one directory file, or several that merge into one directory."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files = [(str(path), Path(path).read_text(encoding="utf-8")) for path in paths]
    if not files:
        raise DirectoryError(["<directory>:1: no directory file given"])
    return _build(files)


def parse_directory(text: str, source: str = "<directory>") -> dict:
    """The same as load_directory, from a string; source names it in messages."""
    return _build([(source, text)])


def with_current_defaults(directory):
    """``directory`` as published, with what was added since it was published set to its
    default: the policy keys (in the top-level policy and each district's), and an empty
    ``staff`` list for each office and department. A service reads one shape whatever
    version of the loader published its snapshot."""
    def policy(given):
        return given if DEFAULT_POLICY.keys() <= given.keys() else {**DEFAULT_POLICY, **given}
    return {**directory, "policy": policy(directory.get("policy", {})),
            "districts": {code: {**district, "policy": policy(district["policy"]),
                                 "office": _with_staff(district.get("office"))}
                          for code, district in directory["districts"].items()},
            "departments": {code: _with_staff(department)
                            for code, department in directory.get("departments", {}).items()}}


def _with_staff(entry):
    """An office or department, with ``staff: []`` when it was published without any."""
    return entry if not isinstance(entry, dict) or "staff" in entry else {**entry, "staff": []}


def shortest_personal_data_days(directory):
    """The fewest days any district keeps a final ticket's personal data."""
    policies = [directory.get("policy") or {}, *(district.get("policy") or {}
                                                 for district in directory["districts"].values())]
    return min(policy.get("personal_data_days", DEFAULT_POLICY["personal_data_days"])
               for policy in policies)


class _File:
    """One directory file: its document, what of it has the right shape, and its problems,
    each at the line of the part it is about."""

    def __init__(self, source, rank, problems):
        self.source, self.rank, self._problems = source, rank, problems
        self.document, self.given = None, {}

    def read(self, text):
        """Read the document and check its shape; False when there is no document to check."""
        try:
            self.document = yaml_lines.read(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            reason = getattr(error, "problem", None) or str(error)
            self._add((mark.line + 1 if mark else 1, 0), f"invalid YAML: {reason}")
            return False
        if self.document is None:
            self._add((1, 0), "the directory file is empty")
            return False
        try:
            self.given = directory_schema.Directory().load(self.document.data)
        except ValidationError as error:
            self.given = error.valid_data or {}
            for path, message in _each_message(error.messages):
                self._shape_problem(path, message)
        return True

    def problem(self, path, message):
        """Report ``message`` at the line of the part at ``path``."""
        self._add(self.document.place(path), message)

    def _shape_problem(self, path, message):
        if isinstance(message, AtTheKey):
            places = self.document.key_places(path)
            for place in places[1:] if isinstance(message, AtTheKeyAgain) else places:
                self._add(place, message.format(key=repr(path[-1])), about_a_key=True)
        elif isinstance(message, Unlike):
            self.problem(path, f"{message}, not {self.document.shown(path)}")
        else:
            self.problem(path, message)

    def _add(self, place, message, about_a_key=False):
        """Problems are sorted by file, line, those about keys first, then column."""
        line, column = place
        self._problems.append((self.rank, line, not about_a_key, column,
                               f"{self.source}:{line}: {message}"))


def _each_message(messages, path=()):
    """(path, message) for each message of marshmallow's errors."""
    if isinstance(messages, dict):
        for key, inner in messages.items():
            yield from _each_message(inner, (*path, key))
    elif isinstance(messages, list):
        for message in messages:
            yield from _each_message(message, path)
    else:
        yield path, messages


def _build(files):
    problems = []
    read = []
    for rank, (source, text) in enumerate(files):
        file = _File(source, rank, problems)
        if file.read(text):
            read.append(file)
    directory = {kind: {} for kind in LISTS}
    directory["policy"] = {**DEFAULT_POLICY, **_one_policy(read)}
    community_links, people = [], []
    for file, path, given in _entries(read, "districts"):
        _district(file, path, given, directory, community_links, people)
    for file, path, given in _entries(read, "representatives"):
        _representative(file, path, given, directory)
        people.append((file, (*path, "id"), given.get("id"), "representative"))
    _check_community_links(community_links, directory["representatives"])
    for file, path, given in _entries(read, "categories"):
        _category(file, path, given, directory)
    for file, path, given in _entries(read, "departments"):
        _department(file, path, given, directory, people)
    _check_person_ids(people)
    if problems:
        raise DirectoryError(message for *_, message in sorted(problems, key=lambda p: p[:4]))
    return directory


def _one_policy(files):
    """The policy keys given, in the one file that may give them."""
    first, policy = None, {}
    for file in files:
        if not isinstance(file.document.data, dict) or "policy" not in file.document.data:
            continue
        if first:
            file.problem(("policy",), f"policy is already given in {first.source}")
        else:
            first, policy = file, file.given.get("policy", {})
    return policy


def _entries(files, kind):
    """Each entry of a top-level list, across the files: (file, path, what it gives)."""
    for file in files:
        for index, given in enumerate(file.given.get(kind, ())):
            if given is not None:
                yield file, (kind, index), given


def _register(file, path, registry, entry, kind, key="code"):
    """Add an entry under its code, once; a code seen before is reported."""
    code = entry[key]
    if code in registry:
        file.problem((*path, key), f"duplicate {kind} {code!r}")
    elif code is not None:
        registry[code] = entry


def _distinct(file, path, codes):
    """(index, code) of the good codes of a list, each once; one listed again is reported."""
    pairs, seen = [], set()
    for index, code in enumerate(codes):
        if code in seen:
            file.problem((*path, index), f"{code!r} is listed twice in {path[-1]}")
        elif code is not None:
            pairs.append((index, code))
            seen.add(code)
    return pairs


def _references(file, path, codes, registry, kind):
    """The distinct codes of a list, each of which must be in the registry."""
    pairs = _distinct(file, path, codes)
    for index, code in pairs:
        if code not in registry:
            file.problem((*path, index), f"unknown {kind} {code!r}")
    return [code for _, code in pairs]


def _district(file, path, given, directory, community_links, people):
    code, communities = given.get("code"), {}
    for index, community in enumerate(given.get("communities", ())):
        if community is not None:
            _community(file, (*path, "communities", index), community, code, communities,
                       community_links)
    district = {
        "code": code,
        "name": given.get("name"),
        "communities": communities,
        "office": _office(file, (*path, "office"), given.get("office"), people),
        "policy": {**directory["policy"], **given.get("policy", {})},
    }
    _register(file, path, directory["districts"], district, "district")


def _office(file, path, given, people):
    if not isinstance(given, dict):
        return given
    return {"name": given.get("name"), "contact": given.get("contact", {}),
            "staff": _staff(file, (*path, "staff"), given.get("staff", ()), people)}


def _staff(file, path, given, people):
    """The staff members given, as ``{id, name, contact}``; each id is noted in ``people``
    (``(file, path of the id, id, kind)``), to be checked once the whole directory is read."""
    staff = []
    for index, member in enumerate(given):
        if isinstance(member, dict) and member.get("id") is not None:
            people.append((file, (*path, index, "id"), member["id"], "staff"))
            staff.append({"id": member["id"], "name": member.get("name"),
                          "contact": member.get("contact", {})})
    return staff


def _check_person_ids(people):
    """Every person (a representative, a staff member) signs in by an id of their own: an
    id given again anywhere in the directory is reported where it is given again, but for
    a representative's given twice (reported as a duplicate representative)."""
    first = {}
    for file, path, person_id, kind in sorted(
            (person for person in people if person[2] is not None),
            key=lambda person: (person[0].rank, person[0].document.place(person[1]))):
        if person_id not in first:
            first[person_id] = (file, path, kind)
            continue
        earlier, earlier_path, earlier_kind = first[person_id]
        if kind == earlier_kind == "representative":
            continue
        line, _ = earlier.document.place(earlier_path)
        file.problem(path, f"person id {person_id!r} is given twice"
                           f" (first at {earlier.source}:{line})")


def _community(file, path, given, district, communities, community_links):
    pairs = _distinct(file, (*path, "representatives"), given.get("representatives", ()))
    community_links += [(file, (*path, "representatives", index), rep_id, district)
                        for index, rep_id in pairs]
    community = {
        "code": given.get("code"),
        "name": given.get("name"),
        "representatives": [rep_id for _, rep_id in pairs],
    }
    _register(file, path, communities, community, "community")


def _representative(file, path, given, directory):
    district = given.get("district")
    if district is not None and district not in directory["districts"]:
        file.problem((*path, "district"), f"unknown district {district!r}")
        district = None
    representative = {
        "id": given.get("id"),
        "name": given.get("name"),
        "district": district,
        "max_open": given.get("max_open"),
        "contact": given.get("contact", {}),
    }
    _register(file, path, directory["representatives"], representative, "representative", key="id")


def _check_community_links(community_links, representatives):
    """A community's liaison station may list only representatives of its own district."""
    for file, path, rep_id, district in community_links:
        representative = representatives.get(rep_id)
        if representative is None:
            file.problem(path, f"unknown representative {rep_id!r}")
        elif district and representative["district"] and representative["district"] != district:
            file.problem(path, f"representative {rep_id!r} belongs to district "
                               f"{representative['district']!r}, not {district!r}")


def _category(file, path, given, directory):
    weights = _keyword_weights(file, (*path, "keywords"), given.get("keywords", ()))
    category = {
        "code": given.get("code"),
        "name": given.get("name"),
        "keywords": list(weights),
        "weights": weights,
    }
    _register(file, path, directory["categories"], category, "category")


def _keyword_weights(file, path, keywords):
    """Each keyword with its weight. A keyword listed twice (in any case or width:
    ``Sewer``, ``sewer``) is reported."""
    weights, seen = {}, set()
    for index, keyword in enumerate(keywords):
        word = (keyword or {}).get("word")
        if word is None:
            continue
        if normalized(word) in seen:
            file.problem((*path, index), f"keyword {word!r} is listed twice")
        else:
            weights[word] = keyword.get("weight")
            seen.add(normalized(word))
    return weights


def _department(file, path, given, directory, people):
    department = {
        "code": given.get("code"),
        "name": given.get("name"),
        "districts": _department_districts(file, (*path, "districts"), given.get("districts", ()),
                                           directory["districts"]),
        "categories": _references(file, (*path, "categories"), given.get("categories", ()),
                                  directory["categories"], "category"),
        "due_hours": given.get("due_hours"),
        "delivery": given.get("delivery"),
        "webhook": given.get("webhook") if given.get("delivery") == "webhook" else None,
        "contact": given.get("contact", {}),
        "staff": _staff(file, (*path, "staff"), given.get("staff", ()), people),
    }
    _register(file, path, directory["departments"], department, "department")


def _department_districts(file, path, districts, registry):
    """District codes, or exactly ["*"] for a city-wide department."""
    stars = [index for index, code in enumerate(districts) if code == "*"]
    if stars and len(districts) == 1:
        return ["*"]
    if stars:
        file.problem((*path, stars[0]), "'*' must be the only entry of districts")
        return []
    return _references(file, path, districts, registry, "district")
