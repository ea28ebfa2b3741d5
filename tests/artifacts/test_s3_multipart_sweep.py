"""A killed worker's S3 multipart upload is aborted by the sweep at start (moto over real HTTP)."""

from __future__ import annotations

import asyncio

from aiotrack.artifacts.s3 import S3ArtifactRepository


def _uploads(client, bucket: str) -> set[str]:
    return {u["Key"] for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])}


def _abandoned_upload(client, bucket: str, key: str) -> None:
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"x" * 1024)


async def test_start_aborts_idle_uploads_under_the_prefix_only(s3_env):
    client = s3_env.boto3_client()
    bucket = s3_env.create_bucket()
    _abandoned_upload(client, bucket, "pre/fix/1/run/artifacts/model.bin")
    _abandoned_upload(client, bucket, "pre/fixture-of-another-server/x.bin")  # not under pre/fix/
    repo = S3ArtifactRepository(f"s3://{bucket}/pre/fix", multipart_max_idle=0.0)
    await repo.start()  # the sweep runs at start, in the background
    try:
        for _ in range(200):
            if "pre/fix/1/run/artifacts/model.bin" not in _uploads(client, bucket):
                break
            await asyncio.sleep(0.05)
        assert _uploads(client, bucket) == {"pre/fixture-of-another-server/x.bin"}
    finally:
        await repo.close()


async def test_uploads_without_parts_are_left_alone(s3_env):
    # A client's presigned upload has no part until the client sends one; a sweep in a worker
    # starting meanwhile must not abort it (moto even reports its Initiated as 2010).
    client = s3_env.boto3_client()
    bucket = s3_env.create_bucket()
    client.create_multipart_upload(Bucket=bucket, Key="p/fresh.bin")
    repo = S3ArtifactRepository(f"s3://{bucket}/p", sweep=False)
    await repo.start()
    try:
        assert await repo.sweep_multipart(max_idle=0.0) == 0
        assert _uploads(client, bucket) == {"p/fresh.bin"}
    finally:
        await repo.close()


async def test_active_uploads_are_left_alone(s3_env):
    client = s3_env.boto3_client()
    bucket = s3_env.create_bucket()
    _abandoned_upload(client, bucket, "p/live.bin")
    repo = S3ArtifactRepository(f"s3://{bucket}/p", sweep=False)
    await repo.start()
    try:
        assert await repo.sweep_multipart() == 0  # idle for less than an hour
        assert _uploads(client, bucket) == {"p/live.bin"}
        assert await repo.sweep_multipart(max_idle=0.0) == 1
        assert _uploads(client, bucket) == set()
    finally:
        await repo.close()
