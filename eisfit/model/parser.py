"""Parse impedance.py circuit strings into a small immutable tree.

Grammar (whitespace ignored)::

    series   := term ('-' term)*
    term     := 'p(' series (',' series)+ ')' | ELEMENT
    ELEMENT  := kind index        e.g. R0, CPE1, Wo2, La_1   (kind in ELEMENTS, index [0-9_]*)

``-`` joins in series, ``p(a, b, ...)`` in parallel; a branch of p() may itself be a
series (``p(R1-Wo1,CPE1)``) or a nested p(). Element names must be unique.
Every problem raises :class:`eisfit.CircuitError` quoting the string and the
position.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from ..errors import CircuitError
from .elements import ELEMENTS


@dataclass(frozen=True)
class Leaf:
    """One element instance, e.g. name='CPE1', kind='CPE'."""

    name: str
    kind: str


@dataclass(frozen=True)
class Series:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class Parallel:
    children: tuple["Node", ...]


Node = Union[Leaf, Series, Parallel]

_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z][A-Za-z0-9_]*)|(?P<sym>[-(),])|(?P<bad>\S))")
_NAME = re.compile(r"^([A-Za-z]+)([0-9_]*)$")


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []  # (type, value, position)
        for m in _TOKEN.finditer(text):
            if m.group("name"):
                self.tokens.append(("name", m.group("name"), m.start("name")))
            elif m.group("sym"):
                self.tokens.append(("sym", m.group("sym"), m.start("sym")))
            elif m.group("bad"):
                self.fail(f"unexpected character {m.group('bad')!r}", m.start("bad"))
        self.i = 0
        self.names: set[str] = set()

    # -- helpers
    def fail(self, message: str, pos: int | None = None) -> None:
        if pos is None:
            pos = self.tokens[self.i][2] if self.i < len(self.tokens) else len(self.text)
        raise CircuitError(
            f"invalid circuit {self.text!r}: {message} (at character {pos + 1})\n"
            f"    {self.text}\n    {' ' * pos}^"
        )

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def is_sym(self, value: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "sym" and tok[1] == value

    # -- grammar
    def parse(self) -> Node:
        if not self.tokens:
            raise CircuitError("invalid circuit: the circuit string is empty")
        node = self.series()
        tok = self.peek()
        if tok is not None:
            if tok[1] == ")":
                self.fail("unbalanced parentheses: ')' without a matching 'p('")
            self.fail(f"unexpected {tok[1]!r}")
        return node

    def series(self) -> Node:
        terms = [self.term()]
        while self.is_sym("-"):
            self.i += 1
            terms.append(self.term())
        return terms[0] if len(terms) == 1 else Series(tuple(terms))

    def term(self) -> Node:
        tok = self.peek()
        if tok is None:
            self.fail("expected an element or p(...) but the string ends")
        kind, value, pos = tok
        if kind == "sym":
            if value == "(":
                self.fail("'(' must follow 'p' (bare parentheses are not allowed)")
            if value == ")" and self.i > 0 and self.tokens[self.i - 1][1] == "(":
                self.fail("empty p(): a parallel block needs at least two branches")
            self.fail(f"expected an element or p(...), found {value!r}")
        self.i += 1
        if value == "p" and self.is_sym("("):
            return self.parallel(pos)
        return self.leaf(value, pos)

    def parallel(self, pos: int) -> Node:
        self.i += 1  # '('
        if self.is_sym(")"):
            self.fail("empty p(): a parallel block needs at least two branches")
        branches = [self.series()]
        while self.is_sym(","):
            self.i += 1
            branches.append(self.series())
        if not self.is_sym(")"):
            if self.peek() is None:
                self.fail(f"unbalanced parentheses: 'p(' at character {pos + 1} is never closed")
            self.fail(f"expected ',' or ')' in p(...), found {self.peek()[1]!r}")
        self.i += 1
        if len(branches) < 2:
            self.fail("p() with a single branch: a parallel block needs at least two branches", pos)
        return Parallel(tuple(branches))

    def leaf(self, name: str, pos: int) -> Leaf:
        m = _NAME.match(name)
        kind = m.group(1) if m else None
        if kind not in ELEMENTS:
            known = ", ".join(ELEMENTS)
            hint = ""
            if kind is not None:
                close = [k for k in ELEMENTS if k.lower() == kind.lower()]
                if close:
                    hint = f" (did you mean {close[0]}{m.group(2)}?)"
                elif kind == "p":
                    hint = " ('p' is the parallel operator: write p(a,b))"
            else:
                hint = " (a name is an element kind followed by an index, e.g. R1, CPE2)"
            self.fail(f"unknown element {name!r}{hint}; known elements: {known}", pos)
        if name in self.names:
            self.fail(f"duplicate element name {name!r}: every element needs its own name", pos)
        self.names.add(name)
        return Leaf(name, kind)


def parse(text: str) -> Node:
    """Parse a circuit string into a tree of :class:`Leaf`, :class:`Series`, :class:`Parallel`."""
    if not isinstance(text, str):
        raise CircuitError(f"a circuit must be a string, not {type(text).__name__}")
    return _Parser(text).parse()


def to_string(node: Node) -> str:
    """Normalised circuit string of a tree (no spaces, impedance.py syntax)."""
    if isinstance(node, Leaf):
        return node.name
    if isinstance(node, Series):
        return "-".join(to_string(c) for c in node.children)
    return "p(" + ",".join(to_string(c) for c in node.children) + ")"


def leaves(node: Node) -> list[Leaf]:
    """Element instances in string order (= impedance.py parameter order)."""
    if isinstance(node, Leaf):
        return [node]
    return [leaf for child in node.children for leaf in leaves(child)]


def series_chain(node: Node) -> tuple[Node, ...]:
    """The nodes of a circuit's top-level series chain (the node itself when it is no series)."""
    return tuple(node.children) if isinstance(node, Series) else (node,)


def parallels(node: Node) -> list[Parallel]:
    """p() nodes in string order (outer before inner)."""
    if isinstance(node, Leaf):
        return []
    own = [node] if isinstance(node, Parallel) else []
    return own + [p for child in node.children for p in parallels(child)]
