"""The repository contract on local disk and S3 (moto over real HTTP, aiobotocore)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os

import pytest

from aiotrack.artifacts.base import FileInfo, aiter_bytes
from aiotrack.artifacts.local import TEMP_PREFIX, LocalArtifactRepository
from aiotrack.artifacts.s3 import PART_SIZE, S3ArtifactRepository
from aiotrack.errors import AiotrackError


async def read_all(repo, path, start=0, end=None) -> bytes:
    return b"".join([c async for c in repo.read(path, start, end)])


async def test_write_read_stat(repo):
    n = await repo.write("a/b/c.txt", aiter_bytes(b"hello world", 4))
    assert n == 11
    assert (await repo.stat("a/b/c.txt")).size == 11
    assert await read_all(repo, "a/b/c.txt") == b"hello world"
    assert await read_all(repo, "a/b/c.txt", 6) == b"world"
    assert await read_all(repo, "a/b/c.txt", 2, 5) == b"llo"
    assert await repo.stat("a/b") is None
    assert await repo.stat("a/b/missing") is None
    assert await repo.is_dir("a/b")
    assert not await repo.is_dir("a/b/c.txt")
    assert not await repo.is_dir("nope")


async def test_overwrite_replaces(repo):
    await repo.write("f.bin", aiter_bytes(b"1" * 100))
    await repo.write("f.bin", aiter_bytes(b"2" * 10))
    assert await read_all(repo, "f.bin") == b"2" * 10


async def test_empty_file(repo):
    assert await repo.write("empty", aiter_bytes(b"")) == 0
    assert (await repo.stat("empty")).size == 0
    assert await read_all(repo, "empty") == b""


async def test_list_direct_children_only(repo):
    for p in ("d/x.txt", "d/sub/y.txt", "d/sub/deeper/z.txt", "other.txt"):
        await repo.write(p, aiter_bytes(p.encode()))
    assert await repo.list("d") == [FileInfo("d/sub", True), FileInfo("d/x.txt", False, 7)]
    assert await repo.list("d/sub") == [FileInfo("d/sub/deeper", True), FileInfo("d/sub/y.txt", False, 11)]
    assert await repo.list("") == [FileInfo("d", True), FileInfo("other.txt", False, 9)]
    assert await repo.list("d/x.txt") == []
    assert await repo.list("missing") == []


async def test_delete_file_and_tree(repo):
    for p in ("t/a", "t/b/c", "t2/keep", "tt"):
        await repo.write(p, aiter_bytes(b"x"))
    await repo.delete("t/a")
    assert await repo.stat("t/a") is None
    await repo.delete("t")
    assert await repo.list("t") == []
    assert await repo.stat("t2/keep") is not None  # a sibling whose name starts alike survives
    assert await repo.stat("tt") is not None
    await repo.delete("never-existed")
    with pytest.raises(AiotrackError):
        await repo.delete("")  # never the whole root


async def test_failed_stream_leaves_nothing(repo):
    await repo.write("keep.bin", aiter_bytes(b"old"))

    async def broken():
        yield b"x" * (PART_SIZE + 10)  # enough to start an S3 multipart upload
        yield b"y" * 100
        raise ConnectionResetError("client went away")

    for target in ("new.bin", "keep.bin"):
        with pytest.raises(ConnectionResetError):
            await repo.write(target, broken())
    assert await repo.stat("new.bin") is None
    assert await read_all(repo, "keep.bin") == b"old"
    assert [f.path for f in await repo.list("")] == ["keep.bin"]
    if isinstance(repo, LocalArtifactRepository):
        assert [n for n in os.listdir(repo.root)] == ["keep.bin"]
    else:
        uploads = await repo.client.list_multipart_uploads(Bucket=repo.bucket)
        assert not uploads.get("Uploads"), "the multipart upload must be aborted"


async def test_cancelled_write_leaves_nothing(repo):
    started = asyncio.Event()

    async def slow():
        yield b"a" * 1000
        started.set()
        await asyncio.sleep(3600)
        yield b"never"

    task = asyncio.create_task(repo.write("slow.bin", slow()))
    await started.wait()
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await repo.stat("slow.bin") is None
    if isinstance(repo, LocalArtifactRepository):
        assert os.listdir(repo.root) == []


async def test_large_multipart_body(repo):
    """Bigger than two S3 parts: goes through the streaming multipart path; checksum intact."""
    block = os.urandom(1024 * 1024)
    count = 2 * PART_SIZE // len(block) + 3
    digest = hashlib.sha256()

    async def body():
        for i in range(count):
            chunk = block[i:] + block[:i]
            digest.update(chunk)
            yield chunk

    n = await repo.write("big/blob.bin", body())
    assert n == count * len(block)
    got = hashlib.sha256()
    async for chunk in repo.read("big/blob.bin"):
        got.update(chunk)
    assert got.hexdigest() == digest.hexdigest()


async def test_multipart_capability(repo):
    if isinstance(repo, LocalArtifactRepository):
        with pytest.raises(AiotrackError) as info:
            await repo.create_multipart("x", 2)
        assert info.value.error_code == "NOT_IMPLEMENTED"
        assert info.value.message.startswith("Multipart upload is not supported for the current artifact repository")
        return
    import aiohttp

    upload_id, creds = await repo.create_multipart("mp/file.bin", 2)
    assert [c.part_number for c in creds] == [1, 2]
    parts = []
    payloads = [b"p" * (5 * 1024 * 1024), b"tail"]
    async with aiohttp.ClientSession() as http:
        for cred, data in zip(creds, payloads, strict=False):
            async with http.put(cred.url, data=io.BytesIO(data)) as resp:
                assert resp.status == 200, await resp.text()
                parts.append((cred.part_number, resp.headers["ETag"]))
    await repo.complete_multipart("mp/file.bin", upload_id, parts)
    assert await read_all(repo, "mp/file.bin") == b"".join(payloads)
    info = await repo.presigned_download("mp/file.bin", 60)
    assert info["file_size"] == len(b"".join(payloads))
    async with aiohttp.ClientSession() as http, http.get(info["url"], headers={"Range": "bytes=0-3"}) as resp:
        assert resp.status == 206
        assert await resp.read() == b"pppp"
        assert "attachment" in resp.headers.get("Content-Disposition", "")
    upload_id, _ = await repo.create_multipart("mp/aborted.bin", 1)
    await repo.abort_multipart("mp/aborted.bin", upload_id)
    uploads = await repo.client.list_multipart_uploads(Bucket=repo.bucket)
    assert upload_id not in [u["UploadId"] for u in uploads.get("Uploads", [])]
    assert await repo.stat("mp/aborted.bin") is None


async def test_local_refuses_writing_over_directory_and_through_files(tmp_path):
    repo = LocalArtifactRepository(tmp_path / "r", sweep=False)
    await repo.start()
    await repo.write("d/f", aiter_bytes(b"x"))
    with pytest.raises(AiotrackError) as info:
        await repo.write("d", aiter_bytes(b"y"))
    assert info.value.status == 400
    with pytest.raises(AiotrackError) as info:
        await repo.write("d/f/g", aiter_bytes(b"y"))
    assert info.value.status == 400
    await repo.close()


async def test_local_symlink_outside_is_refused_and_hidden(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    canary = outside / "canary.txt"
    canary.write_text("canary")
    repo = LocalArtifactRepository(tmp_path / "r", sweep=False)
    await repo.start()
    os.symlink(outside, repo.root / "evil")
    os.symlink(canary, repo.root / "evil-file")
    await repo.write("fine.txt", aiter_bytes(b"ok"))
    for op in (
        lambda: repo.stat("evil/canary.txt"),
        lambda: repo.stat("evil-file"),
        lambda: repo.write("evil/canary.txt", aiter_bytes(b"pwned")),
        lambda: repo.write("evil/new.txt", aiter_bytes(b"pwned")),
        lambda: repo.delete("evil/canary.txt"),
        lambda: repo.list("evil"),
    ):
        with pytest.raises(AiotrackError):
            await op()
    assert [f.path for f in await repo.list("")] == ["fine.txt"]
    assert canary.read_text() == "canary"
    assert sorted(os.listdir(outside)) == ["canary.txt"]
    await repo.close()


async def test_local_sweeps_only_old_leftovers(tmp_path):
    repo = LocalArtifactRepository(tmp_path / "r", sweep=False)
    await repo.start()
    (repo.root / "d").mkdir()
    old = repo.root / "d" / (TEMP_PREFIX + "old")
    fresh = repo.root / "d" / (TEMP_PREFIX + "fresh")
    normal = repo.root / "d" / "normal-old"
    for p in (old, fresh, normal):
        p.write_bytes(b"x")
    os.utime(old, (1, 1))
    os.utime(normal, (1, 1))
    assert repo.sweep_leftovers() == 1
    assert not old.exists() and fresh.exists() and normal.exists()
    assert [f.path for f in await repo.list("d")] == ["d/normal-old"]  # temp files are never listed
    await repo.close()


async def test_local_sweeper_runs_at_start(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    old = root / (TEMP_PREFIX + "killed-worker")
    old.write_bytes(b"partial")
    os.utime(old, (1, 1))
    repo = LocalArtifactRepository(root)
    await repo.start()
    for _ in range(100):
        if not old.exists():
            break
        await asyncio.sleep(0.02)
    assert not old.exists()
    await repo.close()


def test_s3_uri_parsing():
    from aiotrack.artifacts.s3 import parse_s3_uri
    from aiotrack.errors import ConfigError

    assert parse_s3_uri("s3://b/p/q/") == ("b", "p/q")
    assert parse_s3_uri("s3://b") == ("b", "")
    for bad in ("s3:///x", "gs://b/x", "s3://b/x?y=1"):
        with pytest.raises(ConfigError):
            parse_s3_uri(bad)


async def test_s3_root_prefix_is_respected(s3_env):
    bucket = s3_env.create_bucket()
    repo = S3ArtifactRepository(f"s3://{bucket}/pre/fix")
    await repo.start()
    try:
        await repo.write("x/y.txt", aiter_bytes(b"data"))
        keys = [o["Key"] for o in s3_env.boto3_client().list_objects_v2(Bucket=bucket)["Contents"]]
        assert keys == ["pre/fix/x/y.txt"]
    finally:
        await repo.close()
