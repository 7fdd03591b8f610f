"""Display filters: a small, Wireshark-like expression language over records.

Grammar (case-insensitive keywords)::

    expr       := term (("or" | "||") term)*
    term       := factor (("and" | "&&") factor)*
    factor     := ("not" | "!") factor | "(" expr ")" | comparison
    comparison := name [op value]
    op         := "==" | "!=" | ">" | ">=" | "<" | "<=" | "contains" | "matches" | "~"
    value      := number | "quoted string" | bare_word

A name is a protocol (``smartlpr``: records of that protocol), a protocol field
(``smartlpr.plate``: any field of that name anywhere in the detail tree), or one of the
record's own fields: ``frame.number``, ``frame.len``, ``frame.time`` (seconds since the first
record), ``protocol``, ``type``, ``kind``, ``summary``, ``direction`` (``to_device`` /
``from_device``), ``link`` (link id), ``expert.code``, ``expert.severity``, ``expert.text``,
and ``<protocol>.type`` / ``<protocol>.summary``. A name alone tests presence. As in
Wireshark, a comparison holds if any occurrence of the field satisfies it. Strings compare
with a field's value and with its display text; numbers compare numerically.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from dissectors.api import Field, Record

Predicate = Callable[[Record], bool]


class FilterError(ValueError):
    """The expression is not valid; the message says where and why."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<op>==|!=|>=|<=|>|<|~|&&|\|\||!|\(|\))
      | (?P<word>[A-Za-z0-9_.:\-+/]+)
    )""",
    re.VERBOSE,
)
_WORD_OPS = {"contains", "matches"}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise FilterError(f"unexpected character {text[position:].strip()[0]!r} at {position}")
        kind = match.lastgroup or "word"
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


def _literal(token: _Token) -> object:
    if token.kind == "string":
        body = token.text[1:-1]
        return re.sub(r"\\(.)", r"\1", body)
    text = token.text
    try:
        return int(text, 0)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _walk(fields: tuple[Field, ...]) -> Iterator[Field]:
    for node in fields:
        yield node
        if node.children:
            yield from _walk(node.children)


def _record_values(record: Record, name: str) -> list[object] | None:
    """Values of a record-level pseudo field, or None when ``name`` is not one."""
    values: list[object]
    if name == "frame.number":
        values = [record.number]
    elif name == "frame.len":
        values = [len(record.data)]
    elif name in ("protocol", "proto", "frame.protocol"):
        values = [record.protocol]
    elif name == "type":
        values = [record.dissection.type]
    elif name == "kind":
        values = [record.dissection.kind.value]
    elif name == "summary":
        values = [record.dissection.summary]
    elif name == "direction":
        values = [record.direction.name.lower()]
    elif name == "link":
        values = [record.link.id]
    elif name in ("expert.code", "expert.severity", "expert.text"):
        attribute = name.split(".", 1)[1]
        values = [str(getattr(problem, attribute)) for problem in record.all_problems]
    elif name == "expert":
        values = [problem.code for problem in record.all_problems]
    elif name in ("request_in", "response_in", "latency_ns"):
        value = getattr(record, name)
        values = [] if value is None else [value]
    else:
        return None
    return values


class _Compiler:
    def __init__(self, text: str, base_time_ns: Callable[[], int | None]) -> None:
        self.tokens = _tokenize(text)
        self.position = 0
        self.base_time_ns = base_time_ns

    def peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise FilterError("unexpected end of filter")
        self.position += 1
        return token

    def is_keyword(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.text.lower() in words and token.kind != "string"

    def parse(self) -> Predicate:
        if not self.tokens:
            return lambda record: True
        predicate = self.expr()
        token = self.peek()
        if token is not None:
            raise FilterError(f"unexpected {token.text!r} at {token.position}")
        return predicate

    def expr(self) -> Predicate:
        terms = [self.term()]
        while self.is_keyword("or", "||"):
            self.take()
            terms.append(self.term())
        if len(terms) == 1:
            return terms[0]
        return lambda record: any(term(record) for term in terms)

    def term(self) -> Predicate:
        factors = [self.factor()]
        while self.is_keyword("and", "&&"):
            self.take()
            factors.append(self.factor())
        if len(factors) == 1:
            return factors[0]
        return lambda record: all(factor(record) for factor in factors)

    def factor(self) -> Predicate:
        if self.is_keyword("not", "!"):
            self.take()
            inner = self.factor()
            return lambda record: not inner(record)
        token = self.peek()
        if token is not None and token.text == "(":
            self.take()
            inner = self.expr()
            closing = self.peek()
            if closing is None or closing.text != ")":
                raise FilterError(f"missing ')' for '(' at {token.position}")
            self.take()
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        token = self.take()
        if token.kind != "word" or token.text[0].isdigit():
            raise FilterError(f"expected a field name at {token.position}, got {token.text!r}")
        name = token.text.lower() if "." not in token.text else token.text
        values = self.values_of(name)
        op_token = self.peek()
        if op_token is None or not (
            (op_token.kind == "op" and op_token.text in (*_COMPARE, "~"))
            or op_token.text.lower() in _WORD_OPS
        ):
            return lambda record: bool(values(record))
        self.take()
        op = op_token.text.lower()
        value_token = self.take()
        if value_token.kind == "op":
            raise FilterError(f"expected a value at {value_token.position}")
        literal = _literal(value_token)
        test = self.test_for(op, literal, value_token)
        return lambda record: any(test(value) for value in values(record))

    def values_of(self, name: str) -> Callable[[Record], list[object]]:
        if name == "frame.time":
            base = self.base_time_ns

            def times(record: Record) -> list[object]:
                start = base()
                return [(record.time_ns - (start if start is not None else record.time_ns)) / 1e9]

            return times
        probe = _record_values
        if "." not in name and name not in _PSEUDO:
            protocol = name
            return lambda record: [record.protocol] if record.protocol == protocol else []
        if name in _PSEUDO:
            return lambda record: probe(record, name) or []
        protocol, _, field_name = name.partition(".")
        if field_name in ("type", "summary", "kind"):

            def own(record: Record) -> list[object]:
                if record.protocol != protocol:
                    return []
                return probe(record, field_name) or []

            return own

        def field_values(record: Record) -> list[object]:
            if record.protocol != protocol:
                return []
            return [
                _FieldValue(node.value, node.text)
                for node in _walk(record.dissection.fields)
                if node.name == field_name
            ]

        return field_values

    @staticmethod
    def test_for(op: str, literal: object, token: _Token) -> Callable[[object], bool]:
        if op in ("matches", "~"):
            try:
                pattern = re.compile(str(literal), re.IGNORECASE)
            except re.error as error:
                raise FilterError(f"bad regular expression at {token.position}: {error}") from None
            return lambda value: any(pattern.search(text) for text in _texts(value))
        if op == "contains":
            needle = str(literal).lower()
            return lambda value: any(needle in text.lower() for text in _texts(value))
        compare = _COMPARE[op]

        def test(value: object) -> bool:
            for candidate in _candidates(value):
                if isinstance(literal, int | float) and isinstance(candidate, int | float):
                    if not isinstance(candidate, bool) and compare(candidate, literal):
                        return True
                elif (
                    isinstance(literal, str)
                    and isinstance(candidate, str)
                    and (
                        compare(candidate.lower(), literal.lower())
                        if op in ("==", "!=")
                        else compare(candidate, literal)
                    )
                ):
                    return True
            return False

        return test


_PSEUDO = {
    "frame.number",
    "frame.len",
    "frame.protocol",
    "protocol",
    "proto",
    "type",
    "kind",
    "summary",
    "direction",
    "link",
    "expert",
    "expert.code",
    "expert.severity",
    "expert.text",
    "request_in",
    "response_in",
    "latency_ns",
}


@dataclass(frozen=True, slots=True)
class _FieldValue:
    value: object
    text: str


def _candidates(value: object) -> list[object]:
    if isinstance(value, _FieldValue):
        inner = value.value
        if isinstance(inner, bool):
            inner = int(inner)
        return [inner, value.text] if value.text != str(inner) else [inner]
    return [value]


def _texts(value: object) -> list[str]:
    if isinstance(value, _FieldValue):
        texts = [str(value.value)]
        if value.text != texts[0]:
            texts.append(value.text)
        return texts
    return [str(value)]


def compile_filter(text: str, *, base_time_ns: Callable[[], int | None] | None = None) -> Predicate:
    """Compile a display filter into a predicate over records.

    Args:
        text: the expression; empty text matches everything.
        base_time_ns: returns the capture's first timestamp, for ``frame.time``.

    Raises:
        FilterError: the expression is invalid (the message gives the position).
    """
    return _Compiler(text, base_time_ns or (lambda: None)).parse()
