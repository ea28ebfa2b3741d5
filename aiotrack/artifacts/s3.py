"""Artifacts in an S3 bucket (or an S3-compatible store) through aiobotocore.

Configuration is AWS's standard chain (environment, shared config/credentials files, profiles,
instance roles); ``MLFLOW_S3_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL``) points at an
S3-compatible store and ``MLFLOW_S3_IGNORE_TLS=true`` skips certificate checks, as for MLflow.

One client per worker: :meth:`S3ArtifactRepository.start` opens it (from the app's
cleanup_ctx) and :meth:`close` closes it at shutdown.

Uploads stream: chunks are gathered into parts of :data:`PART_SIZE` and sent with a multipart
upload, so at most one part is held in memory; a body smaller than one part is a single
PutObject. S3 shows an object only when the upload completes, so an interrupted upload never
leaves a partial object; the multipart upload is aborted on failure or cancellation, and one
left behind by a killed worker is aborted by a sweep at start and hourly
(:meth:`S3ArtifactRepository.sweep_multipart`).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import os
import posixpath
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from aiotrack.artifacts.base import CHUNK_SIZE, ArtifactRepository, FileInfo, MultipartCredential, ObjectStat, Repeating
from aiotrack.artifacts.locations import INVALID_PATH, join
from aiotrack.errors import (
    INTERNAL_ERROR,
    INVALID_PARAMETER_VALUE,
    PERMISSION_DENIED,
    RESOURCE_DOES_NOT_EXIST,
    AiotrackError,
    ConfigError,
    invalid,
)

log = logging.getLogger("aiotrack.artifacts")

PART_SIZE = 8 * 1024 * 1024
# After this many parts the part size grows, so that S3's 10,000-part limit allows ~600 GB.
PART_SIZE_GROWTH_AFTER = 1000
LARGE_PART_SIZE = 64 * 1024 * 1024
PRESIGNED_UPLOAD_EXPIRES = 3600
# Multipart uploads idle this long (no part since) are abandoned: a killed worker's, or a client's
# that gave up. Swept at start and then every MULTIPART_SWEEP_INTERVAL, like local temp files.
MULTIPART_MAX_IDLE = 3600.0
MULTIPART_SWEEP_INTERVAL = 3600.0

_BOTO_TO_MLFLOW = {
    "404": RESOURCE_DOES_NOT_EXIST,
    "NoSuchKey": RESOURCE_DOES_NOT_EXIST,
    "NoSuchUpload": RESOURCE_DOES_NOT_EXIST,
    "NoSuchBucket": RESOURCE_DOES_NOT_EXIST,
    "403": PERMISSION_DENIED,
    "AccessDenied": PERMISSION_DENIED,
    "InvalidPart": INVALID_PARAMETER_VALUE,
    "InvalidPartOrder": INVALID_PARAMETER_VALUE,
    "EntityTooSmall": INVALID_PARAMETER_VALUE,
}


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> (bucket, prefix without slashes at either end)."""
    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc:
        raise ConfigError(f"Not an S3 URI: {uri!r} (expected s3://bucket/prefix)")
    if parts.query or parts.fragment:
        raise ConfigError(f"S3 URI {uri!r} must not have a query or fragment")
    return parts.netloc, parts.path.strip("/")


def endpoint_url_from_env() -> str | None:
    return os.environ.get("MLFLOW_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL") or None


def _error(exc: Exception, what: str) -> AiotrackError:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        mlflow_code = _BOTO_TO_MLFLOW.get(code, INTERNAL_ERROR)
        return AiotrackError(f"{what}: {err.get('Message') or code}", mlflow_code)
    return AiotrackError(f"{what}: {type(exc).__name__}", INTERNAL_ERROR)


# The botocore data loader of the first session, shared by the later ones: it caches the parsed
# service and endpoint models, which a new loader parses again (~0.2 s of CPU per repository
# started). A process that starts several repositories (the tests' apps, the CLI commands) parses
# them once.
_shared_loader: Any = None


def _session() -> Any:
    """A new aiobotocore session whose data loader is the process's shared one."""
    from aiobotocore.session import get_session

    global _shared_loader
    session = get_session()
    if _shared_loader is None:
        _shared_loader = session.get_component("data_loader")
    else:
        session.register_component("data_loader", _shared_loader)
    return session


class S3ArtifactRepository(ArtifactRepository):
    supports_multipart = True

    def __init__(
        self,
        uri: str,
        *,
        endpoint_url: str | None = None,
        verify: bool | None = None,
        sweep: bool = True,
        multipart_max_idle: float = MULTIPART_MAX_IDLE,
    ):
        self.bucket, self.prefix = parse_s3_uri(uri)
        self.description = f"s3://{self.bucket}/{self.prefix}"
        self.endpoint_url = endpoint_url if endpoint_url is not None else endpoint_url_from_env()
        if verify is None:
            verify = os.environ.get("MLFLOW_S3_IGNORE_TLS", "").lower() not in ("true", "1", "yes")
        self.verify = verify
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: Any = None  # an aiobotocore S3 client (the library has no type hints)
        self.multipart_max_idle = multipart_max_idle
        self._sweeper = (
            Repeating(self._sweep, MULTIPART_SWEEP_INTERVAL, "aiotrack-s3-multipart-sweeper") if sweep else None
        )

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        from aiobotocore.config import AioConfig

        session = _session()
        region = session.get_config_variable("region") or "us-east-1"
        config = AioConfig(signature_version="s3v4", retries={"max_attempts": 5, "mode": "standard"})
        self._stack = contextlib.AsyncExitStack()
        self._client = await self._stack.enter_async_context(
            session.create_client(
                "s3", region_name=region, endpoint_url=self.endpoint_url, verify=self.verify, config=config
            )
        )
        if self._sweeper is not None:
            self._sweeper.start()

    async def close(self) -> None:
        if self._sweeper is not None:
            await self._sweeper.stop()
        if self._stack is not None:
            await self._stack.aclose()
        self._stack = None
        self._client = None

    async def _sweep(self) -> None:
        try:
            aborted = await self.sweep_multipart()
            if aborted:
                log.info("Aborted %d abandoned multipart upload(s) under %s", aborted, self.description)
        except Exception as exc:  # a sweep must never take the worker down; it runs again later
            log.warning("Sweeping abandoned multipart uploads under %s failed: %r", self.description, exc)

    async def sweep_multipart(self, max_idle: float | None = None) -> int:
        """Abort multipart uploads under the prefix whose last part is ``max_idle`` seconds old:
        those of killed workers, and client uploads given up on. A live upload sends a part far
        more often than that, so uploads in other workers are untouched. Uploads without parts
        hold no data and are left alone: their only timestamp, ``Initiated``, is not reliable on
        every S3-compatible store (moto reports a fixed date), and a client's fresh upload has
        no part yet."""
        idle = self.multipart_max_idle if max_idle is None else max_idle
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=idle)
        aborted = 0
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix.rstrip("/") + "/" if self.prefix else ""}
        while True:
            page = await self.client.list_multipart_uploads(**kwargs)
            for upload in page.get("Uploads", []):
                if upload["Initiated"] >= cutoff:
                    continue
                key, upload_id = upload["Key"], upload["UploadId"]
                parts = await self.client.list_parts(Bucket=self.bucket, Key=key, UploadId=upload_id)
                last = max((p["LastModified"] for p in parts.get("Parts", [])), default=None)
                if last is None or last >= cutoff:
                    continue
                await self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
                aborted += 1
            if not page.get("IsTruncated"):
                return aborted
            kwargs["KeyMarker"] = page.get("NextKeyMarker")
            kwargs["UploadIdMarker"] = page.get("NextUploadIdMarker")

    @property
    def client(self) -> Any:
        if self._client is None:
            raise RuntimeError("S3ArtifactRepository used before start()")
        return self._client

    def key(self, path: str) -> str:
        return join(self.prefix, path)

    # ------------------------------------------------------------------ write

    async def write(self, path: str, chunks: AsyncIterator[bytes]) -> int:
        if not path:
            raise invalid(INVALID_PATH)
        key = self.key(path)
        buf = bytearray()
        total = 0
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        part_size = PART_SIZE
        try:
            async for chunk in chunks:
                buf += chunk
                total += len(chunk)
                while len(buf) >= part_size:
                    if upload_id is None:
                        resp = await self.client.create_multipart_upload(Bucket=self.bucket, Key=key)
                        upload_id = resp["UploadId"]
                    body = bytes(buf[:part_size])
                    del buf[:part_size]
                    n = len(parts) + 1
                    resp = await self.client.upload_part(
                        Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=body
                    )
                    parts.append({"PartNumber": n, "ETag": resp["ETag"]})
                    if len(parts) >= PART_SIZE_GROWTH_AFTER:
                        part_size = LARGE_PART_SIZE
            if upload_id is None:
                await self.client.put_object(Bucket=self.bucket, Key=key, Body=bytes(buf))
            else:
                if buf or not parts:
                    n = len(parts) + 1
                    resp = await self.client.upload_part(
                        Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=bytes(buf)
                    )
                    parts.append({"PartNumber": n, "ETag": resp["ETag"]})
                await self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
                upload_id = None
        except BaseException as exc:
            if upload_id is not None:
                # Shielded so that a cancelled request still releases the stored parts.
                with contextlib.suppress(Exception):
                    await asyncio.shield(
                        self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
                    )
            if isinstance(exc, Exception) and not isinstance(exc, AiotrackError) and _is_boto_error(exc):
                raise _error(exc, f"Failed to upload artifact '{path}'") from None
            raise
        return total

    # ------------------------------------------------------------------ read

    async def stat(self, path: str) -> ObjectStat | None:
        if not path:
            return None
        from botocore.exceptions import ClientError

        try:
            resp = await self.client.head_object(Bucket=self.bucket, Key=self.key(path))
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise _error(exc, f"Failed to read artifact '{path}'") from None
        mtime = resp.get("LastModified")
        return ObjectStat(
            size=int(resp["ContentLength"]),
            mtime=mtime.timestamp() if mtime is not None else None,
            etag=resp.get("ETag"),
        )

    async def is_dir(self, path: str) -> bool:
        prefix = self.key(path)
        prefix = prefix + "/" if prefix else ""
        resp = await self._call(self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1), path)
        return bool(resp.get("KeyCount") or resp.get("Contents") or resp.get("CommonPrefixes"))

    async def read(self, path: str, start: int = 0, end: int | None = None) -> AsyncGenerator[bytes, None]:
        kwargs = {}
        if start or end is not None:
            kwargs["Range"] = f"bytes={start}-" + ("" if end is None else str(end - 1))
        resp = await self._call(self.client.get_object(Bucket=self.bucket, Key=self.key(path), **kwargs), path)
        body = resp["Body"]
        try:
            async for chunk in body.iter_chunks(CHUNK_SIZE):
                yield chunk
        finally:
            body.close()

    async def list(self, path: str) -> list[FileInfo]:
        prefix = self.key(path)
        prefix = prefix + "/" if prefix else ""
        out: list[FileInfo] = []
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
                for cp in page.get("CommonPrefixes", []):
                    name = cp["Prefix"][len(prefix) :].rstrip("/")
                    if name:
                        out.append(FileInfo(join(path, name), True))
                for obj in page.get("Contents", []):
                    name = obj["Key"][len(prefix) :]
                    if name and "/" not in name:
                        out.append(FileInfo(join(path, name), False, int(obj["Size"])))
        except Exception as exc:
            if _is_boto_error(exc):
                raise _error(exc, f"Failed to list artifacts in '{path}'") from None
            raise
        return sorted(out, key=lambda f: f.path)

    # ------------------------------------------------------------------ delete

    async def delete(self, path: str) -> None:
        if not path:
            raise invalid(INVALID_PATH)
        key = self.key(path)
        keys = [key]
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=key + "/"):
                keys.extend(obj["Key"] for obj in page.get("Contents", []))
            for i in range(0, len(keys), 1000):
                batch = [{"Key": k} for k in keys[i : i + 1000]]
                await self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        except Exception as exc:
            if _is_boto_error(exc):
                raise _error(exc, f"Failed to delete artifact '{path}'") from None
            raise

    # ------------------------------------------------------------------ multipart and presigned URLs

    async def create_multipart(self, path: str, num_parts: int) -> tuple[str, builtins.list[MultipartCredential]]:
        if not 1 <= num_parts <= 10000:
            raise invalid(f"num_parts must be between 1 and 10000, got {num_parts}")
        key = self.key(path)
        resp = await self._call(self.client.create_multipart_upload(Bucket=self.bucket, Key=key), path)
        upload_id = resp["UploadId"]
        creds = []
        for n in range(1, num_parts + 1):
            url = await self.client.generate_presigned_url(
                "upload_part",
                Params={"Bucket": self.bucket, "Key": key, "UploadId": upload_id, "PartNumber": n},
                ExpiresIn=PRESIGNED_UPLOAD_EXPIRES,
            )
            creds.append(MultipartCredential(n, url, {}))
        return upload_id, creds

    async def complete_multipart(self, path: str, upload_id: str, parts: builtins.list[tuple[int, str]]) -> None:
        await self._call(
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.key(path),
                UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in parts]},
            ),
            path,
        )

    async def abort_multipart(self, path: str, upload_id: str) -> None:
        await self._call(
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key(path), UploadId=upload_id), path
        )

    async def presigned_download(self, path: str, expires: int) -> dict[str, Any]:
        st = await self.stat(path)
        if st is None:
            raise AiotrackError(f"No such artifact: '{path}'", RESOURCE_DOES_NOT_EXIST)
        from aiotrack.artifacts.content import content_disposition

        url = await self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self.key(path),
                "ResponseContentDisposition": content_disposition(posixpath.basename(path)),
            },
            ExpiresIn=expires,
        )
        return {"url": url, "headers": {}, "file_size": st.size}

    async def _call(self, awaitable: Awaitable[Any], path: str) -> Any:
        try:
            return await awaitable
        except Exception as exc:
            if _is_boto_error(exc):
                raise _error(exc, f"S3 request for artifact '{path}' failed") from None
            raise


def _is_boto_error(exc: Exception) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(exc, (ClientError, BotoCoreError))
