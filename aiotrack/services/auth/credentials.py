"""Password hashing, the password and username rules, access-token minting and digests.

Passwords are hashed with Argon2id (argon2-cffi); the hash runs in a thread, never on the event
loop. An unknown user is checked against a dummy hash of the same parameters, so that the answer
and its timing are the same as for a wrong password. Access tokens are 32 random bytes
(``atk_`` + URL-safe base64); only their SHA-256 digest is stored (a token has full entropy, so a
fast digest is enough and lets a request find it by index).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from aiotrack.errors import invalid

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # an unbounded password would make the KDF a denial-of-service lever
MAX_USERNAME_LENGTH = 256
TOKEN_PREFIX = "atk_"

# OWASP's recommended Argon2id floor: 19 MiB, 2 passes, 1 lane (a few tens of ms per check, and a
# bounded memory cost when many checks run at once in the thread pool).
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


@functools.cache
def _dummy_hash() -> str:
    """A hash with the live parameters, checked for unknown users (made on first use)."""
    return _HASHER.hash(secrets.token_urlsafe(24))


def check_password_rule(password: object) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise invalid(f"Password must be at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise invalid(f"Password must be at most {MAX_PASSWORD_LENGTH} characters.")
    return password


def check_username_rule(username: object) -> str:
    if not isinstance(username, str) or username == "":
        raise invalid("Username cannot be empty.")
    if len(username) > MAX_USERNAME_LENGTH or ":" in username or any(ord(c) < 32 for c in username):
        raise invalid(f"Username must be at most {MAX_USERNAME_LENGTH} characters, without ':' or control characters.")
    return username


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


def _verify(stored_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; ``stored_hash`` None (unknown user) costs the same and fails."""
    if len(password) > MAX_PASSWORD_LENGTH:
        password = password[:MAX_PASSWORD_LENGTH]  # still hashed: the answer's timing stays the same
        stored_hash = None
    return await asyncio.to_thread(_verify, stored_hash, password)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
