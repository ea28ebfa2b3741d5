"""The UI's min/max-preserving downsampling query (aiotrack/stores/sql/ui_queries.py), on SQLite
and PostgreSQL: spikes survive, short series come back whole, NaN and ranges behave."""

from __future__ import annotations

import asyncio
import math

import pytest

from aiotrack.stores.sql import migrations
from aiotrack.stores.sql.database import PostgresDatabase, SqliteDatabase
from aiotrack.stores.sql.ui_queries import _downsample_rows, downsample_metric, existing_run_ids


@pytest.fixture(params=["sqlite", "postgresql"])
def open_db(request, tmp_path):
    """A factory giving a coroutine that opens a migrated database of each kind."""
    if request.param == "sqlite":

        async def opener():
            return await SqliteDatabase(str(tmp_path / "ui.db")).open()
    else:
        dsn = request.getfixturevalue("pg_server").create_sync()

        async def opener():
            return await PostgresDatabase(dsn, max_size=2).open()

    return opener


async def _seed(db, points):
    await migrations.upgrade(db)
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO experiments (experiment_id, name) VALUES (?, ?)", [7, "e"])
        await tx.execute(
            "INSERT INTO runs (run_uuid, experiment_id, status, start_time) VALUES (?, ?, ?, ?)",
            ["r1", 7, "RUNNING", 0],
        )
        await tx.executemany(
            "INSERT INTO metrics (run_uuid, key, step, timestamp, value, is_nan) VALUES (?, ?, ?, ?, ?, ?)",
            [
                ("r1", "loss", s, 1_000_000 + s * 10, v, 1 if isinstance(v, float) and math.isnan(v) else 0)
                for s, v in points
            ],
        )


def _run(open_db, points, **kw):
    async def go():
        db = await open_db()
        try:
            await _seed(db, points)
            return await downsample_metric(db, "r1", "loss", **kw), await existing_run_ids(db, ["r1", "nope"])
        finally:
            await db.close()

    return asyncio.run(go())


def _points(n, spike_at=None, spike=1000.0, dip_at=None):
    pts = []
    for s in range(n):
        v = math.sin(s / 500.0)
        if s == spike_at:
            v = spike
        if s == dip_at:
            v = -spike
        pts.append((s, v))
    return pts


def test_long_series_keeps_spike_dip_and_ends(open_db):
    out, existing = _run(open_db, _points(20_000, spike_at=12_345, dip_at=777), buckets=100)
    assert existing == {"r1"}
    assert out["total"] == 20_000
    assert len(out["step"]) <= 400
    assert 12_345 in out["step"] and 777 in out["step"]
    assert max(out["value"]) == 1000.0 and min(out["value"]) == -1000.0
    assert out["step"][0] == 0 and out["step"][-1] == 19_999
    assert out["step"] == sorted(out["step"])
    assert out["max"] == 1000.0 and out["min"] == -1000.0
    assert out["timestamp"][out["step"].index(12_345)] == 1_000_000 + 123_450


def test_short_series_comes_back_whole(open_db):
    out, _ = _run(open_db, _points(50), buckets=100)
    assert out["step"] == list(range(50))
    assert len(out["value"]) == 50


def test_range_and_time_axis(open_db):
    out, _ = _run(
        open_db,
        _points(10_000, spike_at=5_000),
        buckets=10,
        x_axis="time",
        min_x=1_000_000 + 4_000 * 10,
        max_x=1_000_000 + 6_000 * 10,
    )
    assert out["total"] == 2_001
    assert min(out["step"]) == 4_000 and max(out["step"]) == 6_000
    assert 5_000 in out["step"]
    assert len(out["step"]) <= 40


def test_nan_is_reported_as_string_and_skipped_for_min_max(open_db):
    pts = [(0, 1.0), (1, float("nan")), (2, 3.0)]

    async def go():
        db = await open_db()
        try:
            await migrations.upgrade(db)
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO experiments (experiment_id, name) VALUES (?, ?)", [7, "e"])
                await tx.execute(
                    "INSERT INTO runs (run_uuid, experiment_id, status) VALUES (?, ?, ?)", ["r1", 7, "FINISHED"]
                )
                await tx.executemany(
                    "INSERT INTO metrics (run_uuid, key, step, timestamp, value, is_nan) VALUES (?, ?, ?, ?, ?, ?)",
                    [("r1", "loss", s, s, 0.0 if math.isnan(v) else v, int(math.isnan(v))) for s, v in pts],
                )
            return await downsample_metric(db, "r1", "loss", buckets=10)
        finally:
            await db.close()

    out = asyncio.run(go())
    assert out["value"] == [1.0, "NaN", 3.0]
    assert out["min"] == 1.0 and out["max"] == 3.0


def test_missing_metric_is_empty(open_db):
    async def go():
        db = await open_db()
        try:
            await migrations.upgrade(db)
            return await downsample_metric(db, "zzz", "loss", buckets=10)
        finally:
            await db.close()

    out = asyncio.run(go())
    assert out["total"] == 0 and out["step"] == [] and out["min"] is None


def test_python_fallback_matches_sql_rule():
    rows = [(s, s, float(v), 0) for s, v in _points(1000, spike_at=400)]
    kept = _downsample_rows(rows, 0, 0, 1000, 10)
    steps = [r[0] for r in kept]
    assert 400 in steps and steps[0] == 0 and steps[-1] == 999 and len(steps) <= 40


def test_sql_window_path_matches_python_pass(open_db, monkeypatch):
    import aiotrack.stores.sql.ui_queries as uq

    pts = _points(5_000, spike_at=2_222, dip_at=4_001)

    async def go():
        db = await open_db()
        try:
            await _seed(db, pts)
            a = await downsample_metric(db, "r1", "loss", buckets=37)
            monkeypatch.setattr(uq, "PYTHON_PASS_MAX_POINTS", 0)
            b = await downsample_metric(db, "r1", "loss", buckets=37)
            return a, b
        finally:
            await db.close()

    a, b = asyncio.run(go())
    assert a["step"] == b["step"]
    assert a["value"] == pytest.approx(b["value"])
    assert 2_222 in a["step"] and 4_001 in a["step"]


def test_zero_buckets_is_summary_only(open_db):
    out, _ = _run(open_db, _points(1000, spike_at=5), buckets=0)
    assert out["total"] == 1000 and out["max"] == 1000.0 and out["step"] == []


@pytest.mark.parametrize("x_axis", ["step", "time"])
def test_every_reduction_keeps_the_same_points(open_db, monkeypatch, x_axis):
    """The Python pass, the window query and (PostgreSQL) the array aggregates keep the same
    points: each bucket's first and last, least and greatest finite value, NaN after numbers,
    with points that tie on x (several timestamps at a step, several steps at a timestamp)."""
    import random

    import aiotrack.stores.sql.ui_queries as uq

    rng = random.Random(5)
    rows = set()
    for i in range(3_000):
        # ties on x either way: three timestamps per step, then two steps per timestamp
        step, ts = (i // 3, 10_000 + i) if i < 1_500 else (i, 20_000 + i // 2)
        nan = rng.random() < 0.05
        rows.add((step, ts, 0.0 if nan else round(rng.uniform(-5, 5), 1), int(nan)))  # rounded: value ties
    rows.add((9_000, 90_000, 0.0, 1))  # a bucket of NaN only, far right

    async def go():
        db = await open_db()
        try:
            await _seed(db, [])
            async with db.transaction() as tx:
                await tx.executemany(
                    "INSERT INTO metrics (run_uuid, key, step, timestamp, value, is_nan) VALUES (?, ?, ?, ?, ?, ?)",
                    [("r1", "loss", *r) for r in sorted(rows)],
                )
            out = {}
            for name, python_max, exact in (("arrays", 0, 2**53), ("python", 10**9, -1), ("window", 0, -1)):
                monkeypatch.setattr(uq, "PYTHON_PASS_MAX_POINTS", python_max)
                monkeypatch.setattr(uq, "_EXACT_IN_FLOAT", exact)
                got = await downsample_metric(db, "r1", "loss", buckets=41, x_axis=x_axis)
                out[name] = sorted(zip(got["step"], got["timestamp"], map(str, got["value"]), strict=True))
            return db.dialect.array_min_max, out
        finally:
            await db.close()

    has_arrays, out = asyncio.run(go())
    assert out["python"] == out["window"]
    assert len(out["python"]) <= 4 * 41 and ("9000", "90000", "NaN") in {tuple(map(str, p)) for p in out["python"]}
    if has_arrays:
        assert out["arrays"] == out["python"]
