"""`make topology`: PostgreSQL with a streaming replica, PgBouncer in transaction mode, several
gunicorn app servers behind HAProxy, Celery workers and one beat on RabbitMQ (or Redis), and
localstripe, all on 127.0.0.1 from Debian packages and the project's wheels, no containers.

Each part is started the way production starts it (its own process, its own config file
generated from deploy/templates/ into the state folder); this module only supervises them.
Ctrl-C or SIGTERM stops everything it started, in reverse order.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from config.embedded import (
    BASE_DIR,
    EmbeddedPostgres,
    LocalStripe,
    free_port,
    start_localstripe,
    start_postgres,
    wait_for_port,
)
from deploy.parts import (
    THREADS,
    AppServer,
    MissingPackage,
    _app_server,
    _celery,
    _manage,
    database_from_url,
    default_broker,
    render,
    require_binary,
    start_pgbouncer,
    stop_process,
)
from deploy.replica import Replica, start_replica


@dataclass
class Topology:
    """The running stack; `stop()` ends every part it started."""

    state_dir: Path
    url: str
    stats_url: str
    haproxy_socket: Path
    database_url: str
    direct_database_url: str
    replica_url: str
    replica_kind: str
    broker_url: str
    queue: str
    env: dict[str, str]
    app_servers: list[AppServer] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    postgres: EmbeddedPostgres | None = None
    replica: Replica | None = None
    localstripe: LocalStripe | None = None

    def haproxy(self, command: str) -> str:
        """One command on HAProxy's admin socket (`show stat`, `disable server …`)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(str(self.haproxy_socket))
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def server_states(self) -> dict[str, dict[str, str]]:
        """HAProxy's view of each app server: status (UP/DOWN), stot (requests sent), …"""
        lines = self.haproxy("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
        return {
            row["svname"]: row
            for row in rows
            if row.get("pxname") == "app_servers" and row["svname"] not in {"FRONTEND", "BACKEND"}
        }

    def wait_for_servers(self, expected: dict[str, str], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            states = {name: row["status"] for name, row in self.server_states().items()}
            if all(states.get(name, "").startswith(want) for name, want in expected.items()):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"HAProxy sees {states}, expected {expected}")
            time.sleep(0.2)

    def endpoints(self) -> list[str]:
        lines = [
            f"Kassa via HAProxy:     {self.url}/  (health {self.url}/healthz, {self.url}/readyz)",
            f"HAProxy stats:         {self.stats_url}/  (admin socket {self.haproxy_socket})",
        ]
        lines += [
            f"app server {s.name}:         {s.url}/  (metrics {s.url}/metrics)"
            for s in self.app_servers
        ]
        lines += [
            f"PgBouncer (transaction): {self.database_url}",
            f"PostgreSQL primary:    {self.direct_database_url}",
            f"read replica ({self.replica_kind}): {self.replica_url}",
            f"Celery broker:         {self.broker_url}  queue {self.queue!r}, "
            f"{len(self.workers) - 1} worker(s) + 1 beat",
            f"Stripe:                {self.env['STRIPE_API_BASE']}",
            f"state folder:          {self.state_dir}",
        ]
        return lines

    def stop(self) -> None:
        for process in reversed(self.processes):
            stop_process(process)
        if self.localstripe is not None:
            self.localstripe.stop()
        if self.replica is not None:
            self.replica.stop()
        if self.postgres is not None:
            self.postgres.stop()


def start_topology(
    state_dir: Path,
    *,
    app_servers: int = 2,
    web_workers: int = 2,
    celery_workers: int = 1,
    port: int | None = None,
    database_url: str | None = None,
) -> Topology:
    """Start every part in dependency order; on any failure stop what already runs.

    With `database_url` PgBouncer fronts that server (reports then read the primary);
    without, an embedded PostgreSQL in the state folder with a streaming replica.
    """
    require_binary("pgbouncer")
    haproxy_bin = require_binary("haproxy")
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    broker = default_broker()
    # One queue per state folder: two stacks on one broker never take each other's tasks.
    queue = "kassa-" + hashlib.sha256(str(state_dir).encode()).hexdigest()[:10]
    started: list[subprocess.Popen[bytes]] = []
    postgres: EmbeddedPostgres | None = None
    replica: Replica | None = None
    localstripe: LocalStripe | None = None
    try:
        if external := database_url:
            direct_url, replica_url, replica_kind = external, external, "the primary"
        else:
            postgres = start_postgres(data_dir=state_dir / "pgdata")
            direct_url = postgres.database_url()
            replica = start_replica(postgres, state_dir / "replica")
            replica_url, replica_kind = replica.database_url(), "streaming, pg_basebackup"
        run_as = postgres.server.system_user if postgres is not None else None
        bouncer = start_pgbouncer(
            database_from_url(direct_url), state_dir / "pgbouncer", run_as=run_as
        )
        started.append(bouncer.process)
        if replica is not None:
            replica_bouncer = start_pgbouncer(
                database_from_url(replica_url), state_dir / "pgbouncer-replica", run_as=run_as
            )
            started.append(replica_bouncer.process)
            replica_pooled = replica_bouncer.url()
        else:
            replica_pooled = bouncer.url()

        localstripe = start_localstripe(state_file=state_dir / "localstripe.pickle")
        base_env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "DATABASE_REPLICA_URL", "DJANGO_SETTINGS_MODULE"}
        }
        direct_env = base_env | {
            "DATABASE_URL": direct_url,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "KASSA_STATE_DIR": str(state_dir),
            "STRIPE_API_BASE": localstripe.api_base,
            "CELERY_BROKER_URL": broker,
            "CELERY_QUEUE": queue,
            "DEBUG": "false",
        }
        # Schema changes run on the primary itself, never through the transaction pooler.
        _manage(direct_env, "migrate", "--no-input", "-v", "0")
        _manage(direct_env, "createcachetable")
        env = direct_env | {
            "DATABASE_URL": bouncer.url(),
            "DATABASE_REPLICA_URL": replica_pooled,
            "DATABASE_PGBOUNCER": "true",
        }

        servers = [
            _app_server(f"app{i + 1}", env, state_dir, workers=web_workers)
            for i in range(app_servers)
        ]
        started += [server.process for server in servers]
        for server in servers:
            wait_for_port("127.0.0.1", server.port, process=server.process, timeout=60)

        port = port or free_port()
        stats_port = free_port()
        server_lines = "\n".join(f"    server {s.name} 127.0.0.1:{s.port} check" for s in servers)
        config = render(
            "haproxy.cfg",
            state_dir / "haproxy.cfg",
            port=port,
            stats_port=stats_port,
            state_dir=state_dir,
            servers=server_lines,
            server_maxconn=web_workers * THREADS,
        )
        haproxy = subprocess.Popen(  # noqa: S603
            [haproxy_bin, "-db", "-f", str(config)],
            stdout=(state_dir / "haproxy.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(haproxy)
        wait_for_port("127.0.0.1", port, process=haproxy, timeout=15)

        workers = [
            _celery(
                env,
                state_dir,
                f"worker{i + 1}",
                "worker",
                "-Q",
                queue,
                "--concurrency",
                "2",
                "-n",
                f"kassa{i + 1}-{queue}@%h",
            )
            for i in range(celery_workers)
        ]
        beat = _celery(
            env, state_dir, "beat", "beat", "--schedule", str(state_dir / "celerybeat-schedule")
        )
        started += [*workers, beat]
        topology = Topology(
            state_dir=state_dir,
            url=f"http://127.0.0.1:{port}",
            stats_url=f"http://127.0.0.1:{stats_port}",
            haproxy_socket=state_dir / "haproxy.sock",
            database_url=bouncer.url(),
            direct_database_url=direct_url,
            replica_url=replica_pooled,
            replica_kind=replica_kind,
            broker_url=broker,
            queue=queue,
            env=env,
            app_servers=servers,
            workers=[*workers, beat],
            processes=started,
            postgres=postgres,
            replica=replica,
            localstripe=localstripe,
        )
        topology.wait_for_servers({server.name: "UP" for server in servers})
        _wait_for_log(state_dir / "celery-worker1.log", " ready.", workers[0])
        return topology
    except BaseException:
        for process in reversed(started):
            stop_process(process)
        for part in (localstripe, replica, postgres):
            if part is not None:
                part.stop()
        raise


def _wait_for_log(
    path: Path, marker: str, process: subprocess.Popen[bytes], timeout: float = 60
) -> None:
    """Until `marker` shows in the log: a Celery worker has no port to wait on."""
    deadline = time.monotonic() + timeout
    while marker not in path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{path.name}: no {marker!r} (exit {process.returncode})")
        time.sleep(0.2)


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.topology", description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=BASE_DIR / ".kassa-topology")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--app-servers", type=int, default=2)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--celery-workers", type=int, default=1)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_exit)
    try:
        topology = start_topology(
            args.state_dir,
            app_servers=args.app_servers,
            web_workers=args.web_workers,
            celery_workers=args.celery_workers,
            port=args.port,
            database_url=os.environ.get("DATABASE_URL"),
        )
    except MissingPackage as error:
        raise SystemExit(str(error)) from None
    try:
        seeded = _manage(topology.env, "seed_demo")
        print(
            "\n".join([*topology.endpoints(), "", seeded.rstrip(), "", "Ctrl-C stops all of it."])
        )
        sys.stdout.flush()
        while True:
            for server in topology.app_servers:
                if server.process.poll() is not None:
                    print(f"app server {server.name} exited ({server.process.returncode})")
                    topology.app_servers.remove(server)
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        topology.stop()


if __name__ == "__main__":
    main()
