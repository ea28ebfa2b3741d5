"""The failure limiter and the TTL cache, on a fake clock."""

from __future__ import annotations

from aiotrack.services.auth.limits import FailureLimiter, SharedGeneration, TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limits_a_user_and_address_pair_without_locking_out_other_addresses():
    clock = Clock()
    limiter = FailureLimiter(max_failures=3, clock=clock)
    for _ in range(2):
        limiter.failed("alice", "10.0.0.1")
        assert limiter.retry_after("alice", "10.0.0.1") == 0
    limiter.failed("alice", "10.0.0.1")
    assert limiter.retry_after("alice", "10.0.0.1") == 30
    assert limiter.retry_after("alice", "10.0.0.2") == 0  # alice from elsewhere
    assert limiter.retry_after("bob", "10.0.0.1") == 0  # another user from there
    limiter.failed("alice", "10.0.0.1")  # a further failure doubles the wait
    assert limiter.retry_after("alice", "10.0.0.1") == 60
    clock.now += 61
    assert limiter.retry_after("alice", "10.0.0.1") == 0
    limiter.succeeded("alice", "10.0.0.1")
    limiter.failed("alice", "10.0.0.1")
    assert limiter.retry_after("alice", "10.0.0.1") == 0


def test_limits_an_address_that_tries_many_users():
    limiter = FailureLimiter(max_failures=5, max_failures_per_address=4, clock=Clock())
    for i in range(4):
        limiter.failed(f"user{i}", "10.0.0.9")
    assert limiter.retry_after("anyone", "10.0.0.9") == 30
    assert limiter.retry_after("anyone", "10.0.0.8") == 0


def test_the_backoff_is_capped():
    limiter = FailureLimiter(max_failures=1, max_backoff=900, clock=Clock())
    for _ in range(20):
        limiter.failed("a", "x")
    assert limiter.retry_after("a", "x") == 900


def test_ttl_cache_expires_and_is_bounded():
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(ttl=10, max_size=2, clock=clock)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    assert cache.get("a") is None and cache.get("c") == 3
    clock.now += 11
    assert cache.get("b") is None
    off: TtlCache[str, int] = TtlCache(ttl=0, max_size=2)
    off.put("a", 1)
    assert off.get("a") is None


def test_shared_generation_is_shared_through_its_file(tmp_path):
    key = f"sqlite:///{tmp_path}/auth.db"
    one, two = SharedGeneration(key), SharedGeneration(key)
    assert one.path == two.path and one.path is not None
    before = two.value()
    one.bump()
    assert two.value() == before + 1
    assert SharedGeneration(f"{key}-other").value() == 0
