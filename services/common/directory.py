"""The directory: the jurisdiction that Zero Distance serves, read from YAML.

Owns the directory file format of CONTRACT.md section 3: districts with their
communities and congress liaison office, representatives, categories with their
keywords (each with a weight), departments with their delivery, and the policy of
deadlines, categorisation and how long personal data is kept (``personal_data_days``).
It reads one or more files, checks every key (each problem is reported as
"file:line: message", all of them at once, in one DirectoryError) and returns a
normalized, JSON-serialisable snapshot. No I/O beyond reading the given files; no broker
or database imports.
"""
import datetime
import math
import re
import zoneinfo
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from services.common.email_address import is_email_address
from services.common.events import LOCALES
from services.common.words import normalized

CODE = re.compile(r"[a-z0-9_-]{1,32}")
OFFICE_HOURS = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
LISTS = ("districts", "representatives", "categories", "departments")
DELIVERIES = ("amqp", "webhook")
DEFAULT_MAX_OPEN, DEFAULT_DUE_HOURS = 50, 72
DEFAULT_POLICY = {
    "representative_hours": 24, "congress_hours": 8, "auto_forward": False,
    "auto_dispatch": True, "reopen_limit": 2, "timezone": "Asia/Shanghai", "calendar": None,
    "category_confidence": 0.6,
    "duplicates": "ignore", "duplicate_days": 14, "duplicate_radius_m": 200,
    "duplicate_suggest": 0.35, "duplicate_auto_merge": 0.7,
    "personal_data_days": 180,
}
#: what a district does with a likely duplicate (services.routing.duplicates)
DUPLICATE_ACTIONS = ("ignore", "suggest", "auto_merge")
DEFAULT_KEYWORD_WEIGHT = 1.0
KEYS = {
    "directory": LISTS + ("policy",),
    "district": ("code", "name", "communities", "office", "policy"),
    "community": ("code", "name", "representatives"),
    "office": ("name", "contact"),
    "representative": ("id", "name", "district", "max_open", "contact"),
    "category": ("code", "name", "keywords"),
    "keyword": ("word", "weight"),
    "department": ("code", "name", "districts", "categories", "due_hours", "delivery",
                   "webhook", "contact"),
    "webhook": ("url", "secret"),
    "contact": ("email", "phone", "wechat_openid", "locale"),
    "policy": tuple(DEFAULT_POLICY),
    "calendar": ("workdays", "hours", "holidays", "extra_workdays", "official_holidays"),
}
_NOT_A_SCALAR = object()


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


class _Fields:
    """The value nodes of one YAML mapping by key, read on demand."""

    def __init__(self, reader, node, nodes):
        self.reader, self.node, self.nodes = reader, node, nodes

    def read(self, key, check, *options, default=None):
        """Read a scalar-like value with a reader check: check(node, key, *options)."""
        if key not in self.nodes:
            return default
        return check(self.nodes[key], key, *options)

    def nested(self, key, build, *options, default=None):
        """Read a nested part (office, policy, a list of references) with its builder."""
        return build(self.reader, self.nodes[key], *options) if key in self.nodes else default


class _Reader:
    """Turns the YAML nodes of one file into plain values; problems go to errors."""

    def __init__(self, source, rank, errors):
        self.source, self.rank, self.errors = source, rank, errors
        self._constructor = SafeConstructor()

    def problem(self, node, message, line=None):
        line = node.start_mark.line + 1 if node is not None else line
        self.errors.append((self.rank, line, f"{self.source}:{line}: {message}"))

    def document(self, text):
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            reason = getattr(error, "problem", None) or str(error)
            return self.reject(None, f"invalid YAML: {reason}", line=mark.line + 1 if mark else 1)
        if root is None:
            return self.reject(None, "the directory file is empty", line=1)
        return self.fields(root, "directory")

    def fields(self, node, kind, required=()):
        if not isinstance(node, MappingNode):
            self.problem(node, f"{kind} must be a mapping")
            return None
        nodes = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            if key not in KEYS[kind]:
                self.problem(key_node, f"unknown key {key!r} in {kind}")
            elif key in nodes:
                self.problem(key_node, f"duplicate key {key!r} in {kind}")
            else:
                if isinstance(value_node, ScalarNode) and value_node.value == "":
                    value_node.start_mark = key_node.start_mark  # "key:" with nothing after
                nodes[key] = value_node
        for key in required:
            if key not in nodes:
                self.problem(node, f"missing key {key!r} in {kind}")
        return _Fields(self, node, nodes)

    def value(self, node):
        """The Python value of a scalar node (YAML types kept), else _NOT_A_SCALAR."""
        if not isinstance(node, ScalarNode):
            return _NOT_A_SCALAR
        try:
            return self._constructor.construct_object(node)
        except (yaml.YAMLError, ValueError):
            return _NOT_A_SCALAR

    def items(self, node, what, non_empty=False):
        if not isinstance(node, SequenceNode):
            return self.reject(node, f"{what} must be a list") or []
        if non_empty and not node.value:
            self.problem(node, f"{what} must not be empty")
        return node.value

    def scalar(self, node, what, accepts, expected):
        """The scalar's value when accepts(value), else None and a problem."""
        value = self.value(node)
        if value is not _NOT_A_SCALAR and accepts(value):
            return value
        return self.reject(node, f"{what} must be {expected}, not {_shown(node)}")

    def text(self, node, what):
        return self.scalar(node, what, lambda v: isinstance(v, str) and v.strip(),
                           "a non-empty string")

    def code(self, node, what):
        return self.scalar(node, what, lambda v: isinstance(v, str) and CODE.fullmatch(v),
                           "1-32 of a-z 0-9 _ -")

    def integer(self, node, what, minimum, maximum=math.inf):
        upper = f" and <= {maximum}" if maximum < math.inf else ""
        return self.scalar(node, what, lambda v: type(v) is int and minimum <= v <= maximum,
                           f"an integer >= {minimum}{upper}")

    def positive_number(self, node, what):
        return self.scalar(node, what, lambda v: type(v) in (int, float) and 0 < v < math.inf,
                           "a positive number")

    def share(self, node, what):
        return self.scalar(node, what, lambda v: type(v) in (int, float) and 0 <= v <= 1,
                           "a number from 0 to 1")

    def boolean(self, node, what):
        return self.scalar(node, what, lambda v: type(v) is bool, "true or false")

    def choice(self, node, what, choices):
        return self.scalar(node, what, lambda v: isinstance(v, str) and v in choices,
                           f"one of {', '.join(choices)}")

    def url(self, node, what):
        value = self.text(node, what)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme in ("http", "https") and parts.netloc:
            return value
        return self.reject(node, f"{what} must be an http(s) URL, not {value!r}")

    def timezone(self, node, what):
        value = self.text(node, what)
        try:
            return value and zoneinfo.ZoneInfo(value).key
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return self.reject(node, f"{what} {value!r} is not a known IANA time zone")

    def codes(self, node, what, non_empty=False):
        """A list of distinct codes, as (node, code) pairs; bad ones are reported."""
        pairs, seen = [], set()
        for item in self.items(node, what, non_empty):
            code = self.code(item, f"each of {what}")
            if code in seen:
                self.problem(item, f"{code!r} is listed twice in {what}")
            elif code is not None:
                pairs.append((item, code))
                seen.add(code)
        return pairs

    def contact(self, node, what):
        fields = self.fields(node, what)
        if fields is None:
            return {}
        contact = {key: self.text(value, key) for key, value in fields.nodes.items()}
        if contact.get("email") and not is_email_address(contact["email"]):
            self.problem(fields.nodes["email"], f"email {contact['email']!r} is not an email address")
        if contact.get("locale") and contact["locale"] not in LOCALES:
            self.problem(fields.nodes["locale"], f"locale {contact['locale']!r} is not one of"
                         f" {', '.join(LOCALES)}")
        return contact

    def reject(self, node, message, line=None):
        self.problem(node, message, line)
        return None


def _shown(node):
    """A node as a message shows it: 'text', 7 (int), nothing, a list."""
    if not isinstance(node, ScalarNode):
        return "a list" if isinstance(node, SequenceNode) else "a mapping"
    kind = node.tag.rsplit(":", 1)[-1]
    if kind == "null":
        return "nothing"
    return repr(node.value) if kind == "str" else f"{node.value} ({kind})"


def with_current_defaults(directory):
    """``directory`` as published, with the policy keys added since it was published set
    to their defaults (in the top-level policy and each district's): a service reads one
    shape of policy whatever version of the loader published its snapshot."""
    def policy(given):
        return given if DEFAULT_POLICY.keys() <= given.keys() else {**DEFAULT_POLICY, **given}
    return {**directory, "policy": policy(directory.get("policy", {})),
            "districts": {code: {**district, "policy": policy(district["policy"])}
                          for code, district in directory["districts"].items()}}


def _build(files):
    errors = []
    parts, policy = _gather(files, errors)
    directory = {kind: {} for kind in LISTS}
    directory["policy"] = {**DEFAULT_POLICY, **(_policy(*policy) if policy else {})}
    community_links = []
    for reader, node in parts["districts"]:
        _district(reader, node, directory, community_links)
    for reader, node in parts["representatives"]:
        _representative(reader, node, directory)
    _check_community_links(community_links, directory["representatives"])
    for reader, node in parts["categories"]:
        _category(reader, node, directory)
    for reader, node in parts["departments"]:
        _department(reader, node, directory)
    if errors:
        raise DirectoryError(message for *_, message in sorted(errors, key=lambda error: error[:2]))
    return directory


def _gather(files, errors):
    """Concatenate each top-level list across files; find the one top-level policy."""
    parts, policy = {kind: [] for kind in LISTS}, None
    for rank, (source, text) in enumerate(files):
        reader = _Reader(source, rank, errors)
        top = reader.document(text)
        if top is None:
            continue
        for kind in LISTS:
            if kind in top.nodes:
                parts[kind] += [(reader, item) for item in reader.items(top.nodes[kind], kind)]
        node = top.nodes.get("policy")
        if node is not None and policy:
            reader.problem(node, f"policy is already given in {policy[0].source}")
        elif node is not None:
            policy = (reader, node)
    return parts, policy


def _register(fields, registry, entry, kind, key="code"):
    """Add an entry under its code, once; a code seen before is reported."""
    code = entry[key]
    if code in registry:
        fields.reader.problem(fields.nodes[key], f"duplicate {kind} {code!r}")
    elif code is not None:
        registry[code] = entry


def _references(reader, node, what, registry, kind):
    """A non-empty list of distinct codes, each of which must be in the registry."""
    pairs = reader.codes(node, what, non_empty=True)
    for item, code in pairs:
        if code not in registry:
            reader.problem(item, f"unknown {kind} {code!r}")
    return [code for _, code in pairs]


def _district(reader, node, directory, community_links):
    fields = reader.fields(node, "district", ("code", "name", "communities", "office"))
    if fields is None:
        return
    code = fields.read("code", reader.code)
    communities = {}
    for item in fields.read("communities", reader.items, default=[]):
        _community(reader, item, code, communities, community_links)
    district = {
        "code": code,
        "name": fields.read("name", reader.text),
        "communities": communities,
        "office": fields.nested("office", _office),
        "policy": {**directory["policy"], **fields.nested("policy", _policy, default={})},
    }
    _register(fields, directory["districts"], district, "district")


def _community(reader, node, district, communities, community_links):
    fields = reader.fields(node, "community", ("code", "name"))
    if fields is None:
        return
    pairs = fields.read("representatives", reader.codes, default=[])
    community_links += [(reader, item, rep_id, district) for item, rep_id in pairs]
    community = {
        "code": fields.read("code", reader.code),
        "name": fields.read("name", reader.text),
        "representatives": [rep_id for _, rep_id in pairs],
    }
    _register(fields, communities, community, "community")


def _office(reader, node):
    fields = reader.fields(node, "office", ("name",))
    if fields is None:
        return None
    return {"name": fields.read("name", reader.text),
            "contact": fields.read("contact", reader.contact, default={})}


def _representative(reader, node, directory):
    fields = reader.fields(node, "representative", ("id", "name", "district"))
    if fields is None:
        return
    district = fields.read("district", reader.code)
    if district is not None and district not in directory["districts"]:
        district = reader.reject(fields.nodes["district"], f"unknown district {district!r}")
    representative = {
        "id": fields.read("id", reader.code),
        "name": fields.read("name", reader.text),
        "district": district,
        "max_open": fields.read("max_open", reader.integer, 1, default=DEFAULT_MAX_OPEN),
        "contact": fields.read("contact", reader.contact, default={}),
    }
    _register(fields, directory["representatives"], representative, "representative", key="id")


def _check_community_links(community_links, representatives):
    """A community's liaison station may list only representatives of its own district."""
    for reader, node, rep_id, district in community_links:
        representative = representatives.get(rep_id)
        if representative is None:
            reader.problem(node, f"unknown representative {rep_id!r}")
        elif district and representative["district"] and representative["district"] != district:
            reader.problem(node, f"representative {rep_id!r} belongs to district "
                                 f"{representative['district']!r}, not {district!r}")


def _category(reader, node, directory):
    fields = reader.fields(node, "category", ("code", "name", "keywords"))
    if fields is None:
        return
    weights = fields.nested("keywords", _keywords, default={})
    category = {
        "code": fields.read("code", reader.code),
        "name": fields.read("name", reader.text),
        "keywords": list(weights),
        "weights": weights,
    }
    _register(fields, directory["categories"], category, "category")


def _keywords(reader, node):
    """Each keyword with its weight: ``污水`` weighs 1, ``{word: 污水, weight: 2}`` 2. A
    keyword listed twice (in any case or width: ``Sewer``, ``sewer``) is reported."""
    weights, seen = {}, set()
    for item in reader.items(node, "keywords", non_empty=True):
        word, weight = _keyword(reader, item)
        if word is None:
            continue
        if normalized(word) in seen:
            reader.problem(item, f"keyword {word!r} is listed twice")
        else:
            weights[word] = weight
            seen.add(normalized(word))
    return weights


def _keyword(reader, node):
    """(word, weight) of a keyword; word None when it is bad (and reported)."""
    if not isinstance(node, MappingNode):
        word = reader.scalar(node, "each keyword", lambda v: isinstance(v, str) and v.strip(),
                             "a non-empty string or {word, weight}")
        return word, DEFAULT_KEYWORD_WEIGHT
    fields = reader.fields(node, "keyword", ("word",))
    weight = fields.read("weight", reader.positive_number, default=DEFAULT_KEYWORD_WEIGHT)
    return fields.read("word", reader.text), None if weight is None else float(weight)


def _department(reader, node, directory):
    fields = reader.fields(node, "department", ("code", "name", "districts", "categories"))
    if fields is None:
        return
    delivery = fields.read("delivery", reader.choice, DELIVERIES, default="amqp")
    department = {
        "code": fields.read("code", reader.code),
        "name": fields.read("name", reader.text),
        "districts": fields.nested("districts", _department_districts, directory["districts"]),
        "categories": fields.nested("categories", _references, "categories",
                                    directory["categories"], "category"),
        "due_hours": fields.read("due_hours", reader.integer, 1, default=DEFAULT_DUE_HOURS),
        "delivery": delivery,
        "webhook": _webhook(fields, delivery),
        "contact": fields.read("contact", reader.contact, default={}),
    }
    _register(fields, directory["departments"], department, "department")


def _department_districts(reader, node, districts):
    """District codes, or exactly ["*"] for a city-wide department."""
    wildcard = [item for item in reader.items(node, "districts") if reader.value(item) == "*"]
    if wildcard and len(node.value) == 1:
        return ["*"]
    if wildcard:
        reader.problem(wildcard[0], "'*' must be the only entry of districts")
        return []
    return _references(reader, node, "districts", districts, "district")


def _webhook(fields, delivery):
    """The webhook {url, secret}: required for webhook delivery, refused for amqp."""
    reader, node = fields.reader, fields.nodes.get("webhook")
    if delivery == "amqp" and node is not None:
        reader.problem(node, "webhook is given but delivery is amqp")
    if delivery != "webhook":
        return None
    if node is None:
        reader.problem(fields.node, "delivery webhook requires webhook: {url, secret}")
        return None
    webhook = reader.fields(node, "webhook", ("url", "secret"))
    if webhook is None:
        return None
    return {"url": webhook.read("url", reader.url), "secret": webhook.read("secret", reader.text)}


def shortest_personal_data_days(directory):
    """The fewest days any district keeps a final ticket's personal data."""
    policies = [directory.get("policy") or {}, *(district.get("policy") or {}
                                                 for district in directory["districts"].values())]
    return min(policy.get("personal_data_days", DEFAULT_POLICY["personal_data_days"])
               for policy in policies)


def _policy(reader, node):
    """The policy keys given (defaults are merged by the caller)."""
    fields = reader.fields(node, "policy")
    if fields is None:
        return {}
    checks = {
        "representative_hours": (reader.positive_number,),
        "congress_hours": (reader.positive_number,),
        "auto_forward": (reader.boolean,),
        "auto_dispatch": (reader.boolean,),
        "reopen_limit": (reader.integer, 0),
        "timezone": (reader.timezone,),
        "category_confidence": (reader.share,),
        "duplicates": (reader.choice, DUPLICATE_ACTIONS),
        "duplicate_days": (reader.positive_number,),
        "duplicate_radius_m": (reader.positive_number,),
        "duplicate_suggest": (reader.share,),
        "duplicate_auto_merge": (reader.share,),
        "personal_data_days": (reader.integer, 1),
    }
    policy = {key: fields.read(key, *check) for key, check in checks.items() if key in fields.nodes}
    suggest, auto_merge = policy.get("duplicate_suggest"), policy.get("duplicate_auto_merge")
    if suggest is not None and auto_merge is not None and auto_merge < suggest:
        reader.problem(fields.nodes["duplicate_auto_merge"], "duplicate_auto_merge must be at"
                       f" least duplicate_suggest ({suggest}): it merges what would be suggested")
    if "calendar" in fields.nodes:
        policy["calendar"] = fields.nested("calendar", _calendar)
    return policy


def _calendar(reader, node):
    """Working time for deadlines: ISO weekdays, daily "HH:MM-HH:MM", holidays, extra
    workdays (make-up days, 调休), and ``official_holidays: CN`` for China's official
    calendar; or null."""
    if reader.value(node) is None:
        return None
    fields = reader.fields(node, "calendar", ("workdays", "hours"))
    if fields is None:
        return None
    return {
        "workdays": fields.nested("workdays", _workdays),
        "hours": fields.nested("hours", _office_hours),
        "holidays": [_holiday(reader, item)
                     for item in fields.read("holidays", reader.items, default=[])],
        "extra_workdays": [_holiday(reader, item)
                           for item in fields.read("extra_workdays", reader.items, default=[])],
        "official_holidays": fields.nested("official_holidays", _official_holidays),
    }


OFFICIAL_CALENDARS = ("CN",)


def _official_holidays(reader, node):
    value = reader.value(node)
    if value is None or value in OFFICIAL_CALENDARS:
        return value
    reader.problem(node, f"official_holidays must be one of {', '.join(OFFICIAL_CALENDARS)}"
                         f" or null, not {value!r}")
    return None


def _workdays(reader, node):
    items = reader.items(node, "workdays", non_empty=True)
    days = [reader.integer(item, "each workday", 1, 7) for item in items]
    if len(set(days)) != len(days):
        reader.problem(node, "workdays lists a day twice")
    return days


def _office_hours(reader, node):
    value = reader.text(node, "hours")
    match = OFFICE_HOURS.fullmatch(value or "")
    if match and match.group(1, 2) < match.group(3, 4):
        return value
    if value is not None:
        reader.problem(node, f"hours must be \"HH:MM-HH:MM\" with start before end, not {value!r}")
    return None


def _holiday(reader, node):
    """A YAML date or a "YYYY-MM-DD" string, as "YYYY-MM-DD"."""
    value = reader.value(node)
    if type(value) is datetime.date:
        return value.isoformat()
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        try:
            return datetime.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    return reader.reject(node, f"each holiday must be a date YYYY-MM-DD, not {_shown(node)}")
