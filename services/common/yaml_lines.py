"""The line of each part of a YAML document, for messages that point at it.

``read`` turns YAML text into plain values, as ``yaml.safe_load`` would (mappings, lists,
scalars with their YAML types), and keeps where each part is written, by its path: the
keys and list indexes that lead to it, ``("districts", 0, "code")``. Mapping keys are kept
as written (``1: x`` has the key "1"). A key given twice keeps its first value; the mapping
lists it in ``.repeated``, and ``key_places`` has every place it is written. No checks of
what the document holds: that is its reader's schema.
"""
import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import ScalarNode, SequenceNode


class Mapping(dict):
    """A YAML mapping; ``repeated`` are its keys written more than once."""

    repeated = ()


class Unreadable:
    """A scalar YAML cannot make a value of (``2026-02-30`` read as a date, an unknown
    tag): no check accepts it, and a message shows it as it is written."""


def read(text):
    """The document of ``text``, or None when it holds none; yaml.YAMLError when the text
    is not YAML (its ``problem_mark`` says where)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    return None if root is None else Document(root)


class Document:
    """One YAML document: ``data`` and, by path, where each of its parts is written."""

    def __init__(self, root):
        self._nodes, self._places, self._keys, self._open = {}, {}, {}, set()
        self._constructor = SafeConstructor()
        self.data = self._plain(root, (), None)

    def place(self, path):
        """(line, column) of the value at ``path``, both from 1; for a path the document
        does not hold (a missing key), of the nearest part that holds it."""
        while path not in self._places:
            path = path[:-1]
        mark = self._places[path]
        return mark.line + 1, mark.column + 1

    def key_places(self, path):
        """(line, column) of each place the key at the end of ``path`` is written."""
        return [(node.start_mark.line + 1, node.start_mark.column + 1)
                for node in self._keys.get(path, ())]

    def shown(self, path):
        """The value at ``path`` as a message shows it: 'text', 7 (int), nothing, a list."""
        node = self._nodes.get(path)
        if not isinstance(node, ScalarNode):
            return "a list" if isinstance(node, SequenceNode) else "a mapping"
        kind = node.tag.rsplit(":", 1)[-1]
        if kind == "null":
            return "nothing"
        return repr(node.value) if kind == "str" else f"{node.value} ({kind})"

    def _plain(self, node, path, key_node):
        self._nodes[path] = node
        empty = key_node is not None and isinstance(node, ScalarNode) and node.value == ""
        self._places[path] = (key_node if empty else node).start_mark  # "key:" and nothing
        if isinstance(node, ScalarNode):
            try:
                return self._constructor.construct_object(node)
            except (yaml.YAMLError, ValueError):
                return Unreadable()
        if id(node) in self._open:
            raise ConstructorError(None, None, "an alias holds itself", node.start_mark)
        self._open.add(id(node))
        if isinstance(node, SequenceNode):
            value = [self._plain(item, (*path, index), None) for index, item in enumerate(node.value)]
        else:
            value = self._mapping(node, path)
        self._open.discard(id(node))
        return value

    def _mapping(self, node, path):
        mapping = Mapping()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            self._keys.setdefault((*path, key), []).append(key_node)
            if key in mapping:
                mapping.repeated = (*mapping.repeated, key)
            else:
                mapping[key] = self._plain(value_node, (*path, key), key_node)
        return mapping
