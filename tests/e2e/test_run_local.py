"""`make run` as a newcomer meets it: embedded PostgreSQL, localstripe, demo data, clean stop."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from drf_spectacular.validation import validate_schema

from config.embedded import BASE_DIR, free_port, port_open

pytestmark = pytest.mark.slow


def _wait_healthy(url: str, process: subprocess.Popen[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} never answered 200")


def test_run_local_serves_demo_and_stops_everything(tmp_path: Path) -> None:
    port, stripe_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"DATABASE_URL", "STRIPE_SECRET_KEY", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env |= {"KASSA_STATE_DIR": str(tmp_path), "STRIPE_API_BASE": f"http://127.0.0.1:{stripe_port}"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_local", "--port", str(port), "--workers", "1"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(f"{base}/healthz", process)
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok", "database": "postgresql"}
        schema = httpx.get(f"{base}/api/schema/?format=json").json()
        validate_schema(schema)
        assert port_open("127.0.0.1", stripe_port), "localstripe serves on the configured port"
        postmaster = int((tmp_path / "pgdata" / "postmaster.pid").read_text().split()[0])
        assert psutil.pid_exists(postmaster)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)

    keys = re.findall(r"(kassa_[mts]_\S+)", output)
    assert len(keys) == 4, output
    assert re.search(r"user 'admin'\s+password '\S+'", output)
    assert "Periodic tasks: the beat schedule runs in this process" in output
    assert process.returncode is not None
    deadline = time.monotonic() + 15
    while psutil.pid_exists(postmaster) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not psutil.pid_exists(postmaster), "the embedded PostgreSQL was stopped"
    assert not port_open("127.0.0.1", port), "gunicorn was stopped"
    assert not port_open("127.0.0.1", stripe_port), "localstripe was stopped"
