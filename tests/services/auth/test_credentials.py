"""Passwords: Argon2id, the 12-character rule, and the same work for unknown users."""

from __future__ import annotations

import pytest

from aiotrack.errors import AiotrackError
from aiotrack.services.auth import credentials


async def test_hash_and_verify():
    stored = await credentials.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$") and "correct" not in stored
    assert await credentials.verify_password(stored, "correct horse battery")
    assert not await credentials.verify_password(stored, "correct horse batterY")
    assert not await credentials.verify_password("not-a-hash", "correct horse battery")


async def test_an_unknown_user_costs_a_full_kdf_check(monkeypatch):
    checked = []
    real = credentials._HASHER

    class Counting:
        def hash(self, password: str) -> str:
            return real.hash(password)

        def verify(self, hash_: str, password: str) -> bool:
            checked.append(hash_)
            return real.verify(hash_, password)

    monkeypatch.setattr(credentials, "_HASHER", Counting())
    assert not await credentials.verify_password(None, "any password at all")
    assert len(checked) == 1 and checked[0].startswith("$argon2id$")


def test_password_and_username_rules():
    assert credentials.check_password_rule("twelve chars") == "twelve chars"
    for bad in ("eleven char", None, 123456789012, "x" * 1025):
        with pytest.raises(AiotrackError):
            credentials.check_password_rule(bad)
    for bad in ("", None, "a:b", "tab\there"):
        with pytest.raises(AiotrackError):
            credentials.check_username_rule(bad)


def test_tokens_are_random_and_digested():
    a, b = credentials.new_token(), credentials.new_token()
    assert a != b and a.startswith("atk_") and len(a) > 40
    assert credentials.token_digest(a) != a and len(credentials.token_digest(a)) == 64
