"""The installed `kassa-till` console script: help everywhere, a private config, exit codes."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from payments.till_cli import NOT_CONFIGURED, UNREACHABLE
from tests.tills.conftest import Run

SCRIPT = Path(sys.executable).parent / "kassa-till"
COMMANDS = [
    "configure",
    "status",
    "identify",
    "wallet",
    "sale",
    "refund",
    "sync",
    "journal",
    "gift-card",
    "allowance",
]
SESSION_ACTIONS = ["open", "cash-in", "cash-out", "close"]


def kassa_till(*argv: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KASSA_TILL_HOME": str(home)}
    return subprocess.run(
        [str(SCRIPT), *argv], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_help_lists_every_command_and_the_exit_codes(tmp_path: Path) -> None:
    done = kassa_till("--help", home=tmp_path)
    assert done.returncode == 0
    for command in [*COMMANDS, "session"]:
        assert command in done.stdout
    assert "5 server unreachable" in done.stdout
    assert "6 refused by the offline policy" in done.stdout


@pytest.mark.parametrize(
    "argv",
    [[c] for c in [*COMMANDS, "session"]]
    + [["session", a] for a in SESSION_ACTIONS]
    + [["gift-card", a] for a in ("sell", "reload", "balance")]
    + [["allowance", a] for a in ("reserve", "release")],
    ids=lambda argv: " ".join(argv),
)
def test_every_command_has_help(argv: list[str], tmp_path: Path) -> None:
    done = kassa_till(*argv, "--help", home=tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith(f"usage: kassa-till {' '.join(argv)}")


def test_configure_keeps_the_key_in_a_private_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = kassa_till(
        "configure", "--server", "http://127.0.0.1:9", "--key", "kassa_t_x", home=home
    )
    assert done.returncode == 0
    config = home / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert "kassa_t_x" in config.read_text()
    assert "kassa_t_x" not in done.stdout


def test_unconfigured_and_unreachable_have_their_own_exit_codes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = kassa_till("sync", home=home)
    assert done.returncode == NOT_CONFIGURED
    assert "kassa-till configure" in done.stderr
    kassa_till(
        "configure", "--server", "http://127.0.0.1:9", "--key", "k", "--attempts", "1", home=home
    )
    done = kassa_till("sync", home=home)
    assert done.returncode == UNREACHABLE
    assert "cannot be reached" in done.stderr


def test_offline_without_a_cached_policy_refuses_clearly(
    run: Run, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("KASSA_TILL_HOME", str(tmp_path / "home"))
    assert (
        run("configure", "--server", "http://127.0.0.1:9", "--key", "k", "--attempts", "1")[0] == 0
    )
    code, refused = run("sale", "--amount", "1.00", "--cash")
    assert code == 6
    assert "must reach the server once" in refused["error"]
    code, journal = run("journal")
    assert [e["status"] for e in journal["entries"]] == ["refused_offline"]
