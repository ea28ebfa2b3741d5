"""How grants resolve, and the read scopes searches filter by (MLflow 3.17's rules)."""

from __future__ import annotations

import pytest

from aiotrack.errors import AiotrackError
from aiotrack.services.auth import permissions as p


def test_resolution_follows_mlflows_rules():
    grants = [("experiment", "1", "EDIT"), ("experiment", "*", "READ"), ("experiment", "2", "DENY")]
    assert p.resolve(grants, "experiment", "1", p.NO_PERMISSIONS) is p.EDIT
    assert p.resolve(grants, "experiment", "3", p.NO_PERMISSIONS) is p.READ  # the wildcard
    assert p.resolve(grants, "experiment", "2", p.MANAGE) is p.DENY  # DENY beats the default too
    assert p.resolve([], "experiment", "9", p.READ) is p.READ
    assert p.resolve([("experiment", "9", "READ")], "experiment", "9", p.EDIT) is p.EDIT  # floor
    assert p.resolve([("registered_model", "9", "MANAGE")], "experiment", "9", p.READ) is p.READ
    assert p.resolve([("workspace", "*", "MANAGE"), ("experiment", "2", "DENY")], "experiment", "2", p.READ) is (
        p.MANAGE
    )


@pytest.mark.parametrize(
    "grants,default,readable,unreadable",
    [
        ([("experiment", "1", "READ")], p.NO_PERMISSIONS, ["1"], ["2"]),
        ([("experiment", "1", "DENY")], p.READ, ["2"], ["1"]),
        ([("experiment", "*", "DENY"), ("experiment", "1", "MANAGE")], p.READ, [], ["1", "2"]),
        ([("experiment", "*", "READ"), ("experiment", "1", "DENY")], p.NO_PERMISSIONS, ["2"], ["1"]),
        ([("workspace", "*", "MANAGE")], p.NO_PERMISSIONS, ["1", "2"], []),
    ],
)
def test_read_scope_agrees_with_resolve(grants, default, readable, unreadable):
    scope = p.read_scope(grants, "experiment", default)
    for i in readable:
        assert scope.permits(i) and p.resolve(grants, "experiment", i, default).can_read
    for i in unreadable:
        assert not scope.permits(i) and not p.resolve(grants, "experiment", i, default).can_read


def test_grant_validation():
    p.validate_grant("experiment", "1", "DENY", role=False)
    p.validate_grant("workspace", "*", "MANAGE", role=True)
    for bad in (
        ("workspace", "*", "MANAGE", False),
        ("workspace", "*", "READ", True),
        ("workspace", "x", "USE", True),
        ("scorer", "1", "READ", True),
        ("experiment", "1", "NO_PERMISSIONS", False),
        ("experiment", "", "READ", False),
        ("experiment", "1", "ROOT", False),
    ):
        with pytest.raises(AiotrackError):
            p.validate_grant(bad[0], bad[1], bad[2], role=bad[3])
