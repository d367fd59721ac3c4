"""Parse one YAML document safely, keeping the file position of every node.

The register is written by people and reviewed in git, but `datavern check` also
runs in CI on pull requests, so a register file is untrusted input. This module
parses with a restricted PyYAML ``SafeLoader``:

- anchors, aliases and merge keys (``&``, ``*``, ``<<``) are refused: a register
  never needs them, and refusing them defeats "billion laughs" alias bombs before
  anything is expanded;
- explicit tags are refused except the standard scalar/collection ones
  (``!!str``, ``!!int``, ...), so no ``!!python/...`` or custom tag gets through;
- nesting depth and node count are limited, so a hostile document cannot exhaust
  the stack or the memory;
- duplicate keys in a mapping are an error at the second occurrence (PyYAML would
  silently keep the last one);
- exactly one document per file, and the top level must be a mapping.

Scalars are resolved like YAML 1.2's core schema, not YAML 1.1: only
``true``/``false`` are booleans (so ``country: NO`` is Norway, not ``false``),
integers are plain decimal without a leading zero (so ``postal_code: 0150`` stays
the text ``"0150"`` instead of becoming the octal number 104), and there are no
sexagesimal numbers. Dates (``2024-05-31``) are dates.

The result is plain Python (dict, list, str, int, float, bool, None, date,
datetime) and two position maps keyed by path tuples such as
``("systems", 0, "processing", 1, "legal_basis")``: one for the node of each
value, one for the key node of each mapping entry.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, MappingStartEvent, ScalarEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from datavern.core.errors import Location, Problem

PathKey = tuple[str | int, ...]

_STD = "tag:yaml.org,2002:"
# Explicit tags a register may use; everything else (python/*, binary, set, omap,
# custom "!foo" tags) is refused.
ALLOWED_EXPLICIT_TAGS = frozenset(
    _STD + name for name in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp")
)

_TIMESTAMP_RE = re.compile(
    r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
    |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
     (?:[Tt]|[ \t]+)[0-9][0-9]?
     :[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
     (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
    re.X,
)


_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE


class _Refused(Exception):
    """Raised inside the composer; becomes a Problem at ``mark``."""

    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


class _Resolver(yaml.resolver.BaseResolver):
    """YAML 1.2 core-schema style implicit typing (see the module docstring)."""

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 - PyYAML's class-level table


class _Restricted:
    """The restrictions above, applied while composing nodes from parser events."""

    max_depth = 64
    max_nodes = 500_000
    _depth = 0
    _nodes = 0

    # Provided by the parser and composer the concrete loaders mix in.
    check_event: Any
    peek_event: Any
    get_event: Any

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(AliasEvent):
            event = self.get_event()
            raise _Refused(
                f"alias '*{event.anchor}' is not allowed: a register uses no anchors or aliases",
                event.start_mark,
            )
        event = self.peek_event()
        if event.anchor is not None:
            raise _Refused(
                f"anchor '&{event.anchor}' is not allowed: a register uses no anchors or aliases",
                event.start_mark,
            )
        if isinstance(event, ScalarEvent | SequenceStartEvent | MappingStartEvent):
            tag = event.tag
            if tag is not None and tag != "!" and tag not in ALLOWED_EXPLICIT_TAGS:
                raise _Refused(
                    f"tag {_short_tag(tag)!r} is not allowed; "
                    "a register uses plain YAML values only",
                    event.start_mark,
                )
        self._nodes += 1
        if self._nodes > self.max_nodes:
            raise _Refused(
                f"too many values in one file (more than {self.max_nodes})", event.start_mark
            )
        self._depth += 1
        if self._depth > self.max_depth:
            raise _Refused(f"nested more than {self.max_depth} levels deep", event.start_mark)
        try:
            node: Node | None = Composer.compose_node(self, parent, index)  # type: ignore[arg-type]
        finally:
            self._depth -= 1
        assert node is not None  # compose_node is only called where an event is pending
        return node


class PositionLoader(_Restricted, yaml.SafeLoader):
    """A ``SafeLoader`` that only composes nodes, with the restrictions above."""

    yaml_implicit_resolvers = _Resolver.yaml_implicit_resolvers


if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class CPositionLoader(_Restricted, Composer, CParser, SafeConstructor, _Resolver):
        """The same, with libyaml's parser (about twice as fast); the composing and
        every restriction stay in Python."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            _Resolver.__init__(self)

    FAST_LOADER: type[_Restricted] | None = CPositionLoader
else:  # pragma: no cover - PyYAML wheels ship libyaml
    FAST_LOADER = None


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_STD) if tag.startswith(_STD) else tag


def _add(tag: str, regexp: str, first: str | None) -> None:
    _Resolver.add_implicit_resolver(
        _STD + tag, re.compile(regexp, re.X), list(first) if first is not None else None
    )


_add("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF")
_add("int", r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789")
_add(
    "float",
    r"""^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9]+[eE][-+]?[0-9]+
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    "-+0123456789.",
)
_Resolver.add_implicit_resolver(
    _STD + "null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_Resolver.add_implicit_resolver(_STD + "timestamp", _TIMESTAMP_RE, list("0123456789"))


@dataclass
class Document:
    """One parsed YAML document: plain data and where each node is."""

    data: Any
    values: dict[PathKey, Location] = field(default_factory=dict)
    keys: dict[PathKey, Location] = field(default_factory=dict)


class YamlProblems(Exception):
    """The document could not be used; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _location(file: str, mark: Any) -> Location:
    if mark is None:
        return Location(file)
    return Location(file, mark.line + 1, mark.column + 1)


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _describe_yaml_error(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        parts = [p for p in (exc.context, exc.problem) if p]
        text = "; ".join(parts) if parts else "invalid YAML"
        return f"invalid YAML: {text}"
    return "invalid YAML"


def parse(
    text: str,
    file: str,
    *,
    max_depth: int = 64,
    max_nodes: int = 500_000,
    fast: bool = True,
) -> Document:
    """Parse ``text`` (the content of ``file``, for messages) into a ``Document``.

    Raises ``YamlProblems`` for anything this module refuses or cannot parse.
    ``fast`` uses libyaml's parser when PyYAML has it; the result is the same.
    """
    # Checked here rather than left to the parser, so that both parsers report the
    # same character position.
    bad = _NON_PRINTABLE.search(text)
    if bad is not None:
        line, column = _line_col(text, bad.start())
        raise YamlProblems(
            [
                Problem(
                    "the file holds a control character that YAML does not allow "
                    f"(code {ord(bad.group())}); is it a binary file?",
                    Location(file, line, column),
                )
            ]
        )
    loader_class: Any = FAST_LOADER if fast and FAST_LOADER is not None else PositionLoader
    loader: Any = None
    try:
        loader = loader_class(text)
        loader.max_depth = max_depth
        loader.max_nodes = max_nodes
        node = loader.get_single_node()
    except _Refused as exc:
        raise YamlProblems([Problem(exc.message, _location(file, exc.mark))]) from None
    except yaml.reader.ReaderError:
        # Not reached for characters _NON_PRINTABLE catches; kept for other reader errors.
        raise YamlProblems(
            [Problem("the file holds a character YAML does not allow", Location(file))]
        ) from None
    except yaml.composer.ComposerError as exc:
        if exc.problem == "but found another document":
            raise YamlProblems(
                [
                    Problem(
                        "a register file holds one YAML document; remove the '---' line "
                        "or split the documents into files and include them",
                        _location(file, exc.problem_mark),
                    )
                ]
            ) from None
        raise YamlProblems(
            [Problem(_describe_yaml_error(exc), _location(file, exc.problem_mark))]
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlProblems([Problem(_describe_yaml_error(exc), _location(file, mark))]) from None
    except yaml.YAMLError as exc:
        raise YamlProblems([Problem(_describe_yaml_error(exc), Location(file))]) from None
    except RecursionError:
        # Defence in depth: max_depth keeps us far below the interpreter's limit.
        raise YamlProblems([Problem("the document is nested too deeply", Location(file))]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None or (isinstance(node, ScalarNode) and node.tag == _STD + "null"):
        raise YamlProblems(
            [
                Problem(
                    "the file is empty; expected a mapping of register keys", Location(file, 1, 1)
                )
            ]
        )
    builder = _Builder(file, loader)
    data = builder.build(node, ())
    if builder.problems:
        raise YamlProblems(builder.problems)
    return Document(data, builder.values, builder.keys)


class _Builder:
    """Turns a node tree into plain Python and records positions; collects problems."""

    def __init__(self, file: str, loader: Any) -> None:
        self.file = file
        self.loader = loader
        self.values: dict[PathKey, Location] = {}
        self.keys: dict[PathKey, Location] = {}
        self.problems: list[Problem] = []

    def _problem(self, message: str, mark: Any) -> None:
        self.problems.append(Problem(message, _location(self.file, mark)))

    def build(self, node: Node, path: PathKey) -> Any:
        self.values[path] = _location(self.file, node.start_mark)
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return self._scalar(node)

    def _mapping(self, node: MappingNode, path: PathKey) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, Location] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self._problem(
                    "a key must be a plain word, not a list or mapping", key_node.start_mark
                )
                continue
            # Keys are taken as written: `yes:` or `1:` are the texts "yes" and "1".
            key = key_node.value
            if _SURROGATE_RE.search(key):
                self._problem(_SURROGATE_MESSAGE, key_node.start_mark)
                continue
            key_location = _location(self.file, key_node.start_mark)
            if key == "<<":
                self._problem(
                    "merge keys ('<<') are not allowed: a register uses no anchors or aliases",
                    key_node.start_mark,
                )
                continue
            if key in first_seen:
                self._problem(
                    f"duplicate key {key!r}; it is first given at line {first_seen[key].line}",
                    key_node.start_mark,
                )
                continue
            first_seen[key] = key_location
            self.keys[(*path, key)] = key_location
            result[key] = self.build(value_node, (*path, key))
        return result

    def _scalar(self, node: ScalarNode) -> Any:
        tag, value = node.tag, node.value
        try:
            if tag == _STD + "null":
                return None
            if tag == _STD + "bool":
                if value.lower() not in ("true", "false"):
                    raise ValueError("write true or false")
                return value.lower() == "true"
            if tag == _STD + "int":
                return int(value.replace("_", ""), 10)
            if tag == _STD + "float":
                lowered = value.lower()
                if lowered.endswith(".inf"):
                    return -math.inf if lowered.startswith("-") else math.inf
                if lowered == ".nan":
                    return math.nan
                return float(value)
            if tag == _STD + "timestamp":
                return self.loader.construct_yaml_timestamp(node)
        except (ValueError, TypeError, OverflowError, AttributeError) as exc:
            name = tag.removeprefix(_STD)
            self._problem(f"not a valid {name}: {exc}", node.start_mark)
            return None
        if _SURROGATE_RE.search(value):
            # "\ud800" in a double-quoted string: not encodable as UTF-8, so it could
            # never be stored, hashed or shown.
            self._problem(_SURROGATE_MESSAGE, node.start_mark)
            return None
        return value


_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
_SURROGATE_MESSAGE = (
    "the text holds an escaped surrogate code point (such as \\ud800), which is not a character"
)
