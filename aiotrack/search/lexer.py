"""Tokens of MLflow's search language.

MLflow tokenizes filters with ``sqlparse``; this lexer accepts the same surface syntax:

- identifiers: dotted names whose parts are bare words or quoted with backticks or double
  quotes (``metrics.`my metric```, ``tags."mlflow.runName"``, ``params.'x'`` after a dot);
  an identifier is kept as its raw text and split by the parser, as MLflow does;
- strings in single quotes (kept verbatim between the quotes: MLflow does not unescape ``''``);
  a double-quoted token that is not followed by a dot is a string too (MLflow accepts both);
- numbers: ``1``, ``-1``, ``1.5``, ``.5``, ``1.``, ``1e-5``;
- comparison operators ``= != <> == > >= < <=``, parentheses and commas;
- keywords (case-insensitive bare words): AND OR NOT IN IS NULL LIKE ILIKE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WS = "WS"
IDENT = "IDENT"  # a bare or dotted name, raw text
QUOTED = "QUOTED"  # a lone "..." or `...` (an identifier or a string depending on position)
STRING = "STRING"  # '...'
NUMBER = "NUMBER"
OP = "OP"
LPAREN = "LPAREN"
RPAREN = "RPAREN"
COMMA = "COMMA"
KEYWORD = "KEYWORD"
OTHER = "OTHER"

KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE"})

_SQ = r"'(?:''|\\'|[^'])*'"
_DQ = r'"(?:""|\\"|[^"])*"'
_BT = r"`(?:``|[^`])*`"
_WORD = r"[^\W\d]\w*"
_PART = rf"(?:\w[\w$#]*|{_BT}|{_DQ}|{_SQ})"
_IDENT = rf"(?:{_WORD}|{_BT}|{_DQ})(?:\.{_PART})*"
_LONE_QUOTED = re.compile(rf"{_BT}|{_DQ}")

_TOKEN = re.compile(
    "|".join(
        [
            rf"(?P<{WS}>\s+)",
            rf"(?P<{NUMBER}>-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.]))",
            rf"(?P<{STRING}>{_SQ})",
            rf"(?P<{IDENT}>{_IDENT})",
            rf"(?P<{OP}>!=|<>|==|>=|<=|=|<|>)",
            rf"(?P<{LPAREN}>\()",
            rf"(?P<{RPAREN}>\))",
            rf"(?P<{COMMA}>,)",
            rf"(?P<{OTHER}>.)",
        ]
    ),
    re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    type: str
    text: str
    pos: int

    @property
    def keyword(self) -> str | None:
        return self.text.upper() if self.type == KEYWORD else None


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, whitespace dropped. Never raises: unknown characters become
    ``OTHER`` tokens, which the parser reports as invalid clauses."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        assert m is not None  # OTHER matches any character
        kind = m.lastgroup
        assert kind is not None  # every alternative is a named group
        value = m.group()
        pos = m.end()
        if kind == WS:
            continue
        if kind == IDENT:
            if _LONE_QUOTED.fullmatch(value):
                kind = QUOTED
            elif value.upper() in KEYWORDS:
                kind = KEYWORD
        tokens.append(Token(kind, value, m.start()))
    return tokens
