"""Helpers of the tests in tests/cli: an environment without any setting variable, one HTTP call."""

from __future__ import annotations

import os
import urllib.error
import urllib.request

from aiotrack.config import SETTINGS


def clean_env(**variables: str) -> dict[str, str]:
    """This process's environment without any setting variable, plus ``variables``."""
    names = {name for s in SETTINGS for name in s.envvars}
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(variables)
    return env


def request(
    url: str, *, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """status, headers, body of one HTTP request (errors included, never raised)."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers.items()), exc.read()
