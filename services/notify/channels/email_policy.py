"""How notify writes an email: ``email.policy.default`` in all it makes, made cheaper
(pure). The standard header registry makes a new class for every header it parses, and
the standard folding parses each header again as it writes it: most of what composing a
message costs. ``POLICY`` makes each header class once and writes a short ASCII header as
it is: the same bytes (``tests/unit/notify/test_email_bytes.py``)."""
from email.headerregistry import HeaderRegistry
from email.policy import EmailPolicy


class HeaderClassesMadeOnce(HeaderRegistry):
    """The standard header registry, each header's class made once: the standard one makes
    a new class for every header it parses, the costliest part of composing a message."""

    def __init__(self):
        super().__init__()
        self.made = {}

    def __getitem__(self, name):
        name = name.lower()
        if name not in self.made:
            self.made[name] = super().__getitem__(name)
        return self.made[name]


class ShortHeadersAsTheyAre(EmailPolicy):
    """``email.policy.default``, but a header that is short, ASCII and on one line is
    written as it is: the same bytes the standard folding makes of it, without parsing it
    again. Any other one (a subject in Chinese, a long one) is folded as the standard does."""

    def fold_binary(self, name, value):
        if isinstance(value, str) and value.isascii() and len(name) + 2 + len(value) \
                <= self.max_line_length and not any(c in value for c in "\r\n"):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


#: ``email.policy.default`` in all it makes, made cheaper: header classes made once, short
#: headers written as they are
POLICY = ShortHeadersAsTheyAre(header_factory=HeaderClassesMadeOnce())
