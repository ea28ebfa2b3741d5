"""Bounded JSON request bodies: the one home of the body limits.

Three bounds, each cheap and checked before the expensive step it guards:

1. **Bytes** (:data:`MAX_JSON_BODY_BYTES`): aiohttp's ``client_max_size`` refuses a longer body
   with 413 while reading it.
2. **Elements** (:data:`MAX_JSON_ELEMENTS`): a body is pre-scanned before orjson decodes it, and
   one with more structural elements (objects, arrays and the commas between values, outside
   strings) is refused with MLflow's 400 INVALID_PARAMETER_VALUE. A 31 MB ``{"x": [{}, {}, ...]}``
   decodes to 15 million dicts (over 1 GB); the scan costs a few milliseconds. Decoded strings
   are never larger than four times their bytes (UCS-4), so bytes and elements bound the decoded
   size. The scan first counts the structural bytes anywhere (C speed, one pass per byte value);
   only a body over the limit by that count, which strings may inflate (a dataset profile is JSON
   inside a string), is scanned again with its strings skipped.
3. **Bytes held at once per worker** (:class:`BodyBudget`): a body larger than
   :data:`LARGE_BODY_BYTES` reserves its length from a per-worker budget
   (:data:`LARGE_BODY_BUDGET_BYTES`) while it is read and decoded. A request that finds the
   budget spent waits up to :data:`LARGE_BODY_WAIT_SECONDS` for other requests to finish, then
   gets 503 TEMPORARILY_UNAVAILABLE, which the mlflow client retries with backoff. Small bodies
   (every ordinary MLflow call) never wait. A body whose length is not announced (chunked) is
   read under a reservation of the byte limit.

Artifact uploads stream and are bound by none of this.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiotrack.errors import TEMPORARILY_UNAVAILABLE, AiotrackError, invalid

MAX_JSON_BODY_BYTES = 32 * 1024 * 1024  # dataset profiles may reach 16 MiB in MLflow's limits
MAX_JSON_ELEMENTS = 200_000  # a full log-batch (1,000 metrics) has ~7,000
LARGE_BODY_BYTES = 1024 * 1024
LARGE_BODY_BUDGET_BYTES = 96 * 1024 * 1024  # three bodies of the largest size at once
LARGE_BODY_WAIT_SECONDS = 5.0

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STRUCTURAL = (b"{", b"[", b",")


def _count_structural(data: bytes) -> int:
    return sum(data.count(c) for c in _STRUCTURAL)


def check_json_elements(body: bytes, limit: int = MAX_JSON_ELEMENTS) -> None:
    """Refuse a body with more than ``limit`` structural elements, before it is decoded."""
    if _count_structural(body) <= limit:
        return
    # Strings may hold many braces and commas: count again outside them.
    outside = sum(_count_structural(part) for part in _STRING.split(body))
    if outside > limit:
        raise invalid(
            f"The request body has more than {limit} JSON elements (objects, arrays and values); "
            "split it into smaller requests."
        )


class BodyBudget:
    """Bytes of large request bodies one worker holds at once (see the module docstring)."""

    def __init__(
        self,
        budget: int = LARGE_BODY_BUDGET_BYTES,
        *,
        threshold: int = LARGE_BODY_BYTES,
        wait: float = LARGE_BODY_WAIT_SECONDS,
        max_body: int = MAX_JSON_BODY_BYTES,
    ) -> None:
        self.budget = budget
        self.threshold = threshold
        self.wait = wait
        self.max_body = max_body
        self.held = 0
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def reserve(self, length: int | None) -> AsyncIterator[None]:
        """Hold ``length`` bytes (the body limit when unknown) while the body is read and decoded."""
        size = self.max_body if length is None else min(length, self.max_body)
        if size < self.threshold:
            yield
            return
        size = min(size, self.budget)  # one body may always use the whole budget
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: self.held + size <= self.budget), self.wait)
            except asyncio.TimeoutError:
                raise AiotrackError(
                    "The server is busy reading other large requests; retry shortly.", TEMPORARILY_UNAVAILABLE
                ) from None
            self.held += size
        try:
            yield
        finally:
            async with self._changed:
                self.held -= size
                self._changed.notify_all()
