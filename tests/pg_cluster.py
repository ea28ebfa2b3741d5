"""Throwaway PostgreSQL clusters for the multi-node tests: a primary and a streaming replica.

The machine's PostgreSQL (127.0.0.1:5432) is shared and its pg_hba.conf has no replication
entry, so rather than change it (a reload every engineer's tests would feel) the tests make
both ends themselves: ``PgCluster.primary(cluster_root())`` runs initdb and starts a new cluster on a free
loopback port with WAL for streaming and a replication entry; ``PgCluster.replica_of(primary,
dir)`` runs pg_basebackup -R from it and starts a hot standby on another free port. initdb and
the server run as the ``postgres`` user when the tests run as root (PostgreSQL refuses root).
Each cluster is stopped with ``stop()`` (fast shutdown, then immediate).

``unavailable_reason()`` says why this cannot be done here (no binaries, no postgres user) and
``skip_or_fail(reason)`` skips with it, or fails under CI (env CI set), as tests/conftest.py
does for a missing PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import asyncpg
import pytest
from server_process import free_port

# As tests/conftest.py reads it (not imported from there: under pytest "conftest" may name another
# folder's conftest module).
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_USER = "root"  # the superuser the clusters are created with (the tests connect as it, trust)


def _bindir() -> str | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")) and os.path.exists(
            os.path.join(candidate, "pg_basebackup")
        ):
            return candidate
    found = shutil.which("initdb")
    return os.path.dirname(found) if found and shutil.which("pg_basebackup") else None


def _run_as() -> list[str]:
    """The prefix that runs a command as the user owning the clusters."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


def unavailable_reason() -> str | None:
    if _bindir() is None:
        return "PostgreSQL's server binaries (initdb, pg_ctl, pg_basebackup) are not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run initdb as"
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing"
    return None


def cluster_root() -> Path:
    """A new directory for clusters, owned by their user (pytest's tmp_path is private to root,
    where the postgres user cannot reach it); remove it with shutil.rmtree after stop()."""
    root = Path(tempfile.mkdtemp(prefix="aiotrack-pg-"))
    PgCluster._own(root)
    return root


def skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this skip is a failure)")
    pytest.skip(reason)


class PgCluster:
    def __init__(self, data_dir: Path, port: int, log_path: Path):
        self.data_dir = data_dir
        self.port = port
        self.log_path = log_path

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://{_USER}@127.0.0.1:{self.port}/postgres"

    def dsn(self, database: str) -> str:
        return f"postgresql://{_USER}@127.0.0.1:{self.port}/{database}"

    # ------------------------------------------------------------------ making clusters

    @staticmethod
    def _own(path: Path) -> None:
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(path, entry.pw_uid, entry.pw_gid)

    @staticmethod
    def _tool(name: str) -> str:
        bindir = _bindir()
        assert bindir is not None, unavailable_reason()
        return os.path.join(bindir, name)

    @classmethod
    def _run(cls, *args: str, timeout: float = 120) -> None:
        done = subprocess.run(
            [*_run_as(), *args], capture_output=True, text=True, timeout=timeout, cwd="/", check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr or done.stdout}")

    @classmethod
    def _workdir(cls, root: Path, name: str) -> Path:
        work = root / name
        work.mkdir()
        cls._own(work)
        return work

    def _start(self) -> None:
        options = (
            f"-p {self.port} -k {self.data_dir.parent} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=200 -c shared_buffers=32MB"
        )
        self._run(self._tool("pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_path), "-o", options, "-w",
                  "-t", "60", "start")  # fmt: skip

    @classmethod
    def primary(cls, root: Path) -> PgCluster:
        work = cls._workdir(root, "primary")
        cluster = cls(work / "data", free_port(), work / "postgres.log")
        cls._run(cls._tool("initdb"), "-D", str(cluster.data_dir), "-U", _USER, "--auth=trust", "-N")
        with open(cluster.data_dir / "postgresql.conf", "a") as conf:
            conf.write("wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\n")
        with open(cluster.data_dir / "pg_hba.conf", "a") as hba:
            hba.write(f"host replication {_USER} 127.0.0.1/32 trust\n")
        cluster._start()
        return cluster

    @classmethod
    def replica_of(cls, primary: PgCluster, root: Path) -> PgCluster:
        work = cls._workdir(root, "replica")
        cluster = cls(work / "data", free_port(), work / "postgres.log")
        cls._run(cls._tool("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", _USER,
                 "-D", str(cluster.data_dir), "-R", "-X", "stream", "-c", "fast")  # fmt: skip
        cluster._start()
        return cluster

    def stop(self) -> None:
        if not (self.data_dir / "postmaster.pid").exists():
            return
        for mode in ("fast", "immediate"):
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self._run(self._tool("pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "-t", "30", "stop")
                return

    # ------------------------------------------------------------------ queries

    async def query(self, sql: str, *args: object, database: str = "postgres") -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.dsn(database), timeout=10)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def create_database(self, name: str) -> str:
        await self.query(f'CREATE DATABASE "{name}"')
        return self.dsn(name)


async def wait_replayed(primary: PgCluster, replica: PgCluster, timeout: float = 30) -> None:
    """Until the replica has replayed everything the primary has written so far."""
    target = (await primary.query("SELECT pg_current_wal_lsn()"))[0][0]
    deadline = time.monotonic() + timeout
    while True:
        rows = await replica.query("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", target)
        if rows[0][0]:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the replica did not replay up to {target} within {timeout} s")
        await asyncio.sleep(0.05)


class PgBouncer:
    """Debian's pgbouncer in front of a PostgreSQL, in transaction pooling mode, on a free port
    with its own ini in ``root`` (a :func:`cluster_root`); run in the foreground as the postgres
    user when the tests run as root (pgbouncer refuses root). ``stop()`` ends it."""

    def __init__(self, root: Path, target_port: int = 5432, *, server_connections: int = 2) -> None:
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        self.port = free_port()
        work = root / f"pgbouncer-{self.port}"
        work.mkdir()
        PgCluster._own(work)
        (work / "userlist.txt").write_text(f'"{_USER}" ""\n')
        self.log_path = work / "pgbouncer.log"
        ini = work / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"* = host=127.0.0.1 port={target_port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {work / 'userlist.txt'}\n"
            "pool_mode = transaction\n"
            # Few server connections for many clients: each transaction may land on another.
            f"default_pool_size = {server_connections}\nmax_client_conn = 500\n"
            f"logfile = {self.log_path}\npidfile = {work / 'pgbouncer.pid'}\n"
            f"admin_users = {_USER}\n"
        )
        for path in work.iterdir():
            PgCluster._own(path)
        self.proc = subprocess.Popen(
            [*_run_as(), binary, str(ini)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.monotonic() + 30
        while not self._listening():
            if self.proc.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {self.proc.stderr.read() if self.proc.stderr else ''}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("pgbouncer did not listen within 30 s")
            time.sleep(0.05)

    def _listening(self) -> bool:
        import socket

        with socket.socket() as s:
            s.settimeout(0.5)
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def dsn(self, database: str) -> str:
        return f"postgresql://{_USER}@127.0.0.1:{self.port}/{database}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """SIGTERM to its process group (runuser and pgbouncer), then SIGKILL if it lingers."""
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(wait)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def pgbouncer_unavailable_reason() -> str | None:
    if shutil.which("pgbouncer") is None and not os.path.exists("/usr/sbin/pgbouncer"):
        return "pgbouncer is not installed (apt-get install -y pgbouncer)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root and runuser is missing (pgbouncer refuses to run as root)"
    return None
