"""What a ``-m`` expression says about tests that carry some markers, read without pytest's
private expression module: tests/conftest.py skips collecting a folder whose marker the
expression rules out (tests/test_markers.py tests it)."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Mapping


def _allows(node: ast.expr, present: Mapping[str, bool]) -> bool:
    if isinstance(node, ast.Name):
        return present[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _allows(node.operand, present)
    if isinstance(node, ast.BoolOp):
        results = (_allows(value, present) for value in node.values)
        return all(results) if isinstance(node.op, ast.And) else any(results)
    raise ValueError(node)


def rules_out(markexpr: str, marks: frozenset[str]) -> bool:
    """Whether ``-m markexpr`` deselects every test that carries ``marks``, whatever other markers
    it has: false for each assignment of the expression's other names. An expression this does not
    read (not made of names, and, or, not, parentheses: e.g. ``mark(x=1)``) rules out nothing."""
    if not markexpr.strip():
        return False
    try:
        tree = ast.parse(markexpr, mode="eval")
    except SyntaxError:
        return False
    allowed = (ast.Expression, ast.Name, ast.Load, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not)
    if not all(isinstance(node, allowed) for node in ast.walk(tree)):
        return False
    others = sorted({node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} - marks)
    for values in itertools.product((False, True), repeat=len(others)):
        if _allows(tree.body, {**dict.fromkeys(marks, True), **dict(zip(others, values, strict=True))}):
            return False
    return True
