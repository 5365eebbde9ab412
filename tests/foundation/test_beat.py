"""Without a broker, `make run` still runs the beat schedule: every task, at its interval."""

import time
from typing import Any

import pytest
from celery.signals import task_postrun

from config.celery import InProcessBeat, app


@pytest.mark.django_db(transaction=True)
def test_in_process_beat_runs_every_scheduled_task_until_stopped() -> None:
    expected = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert expected, "the schedule is defined once, in settings"
    runs: list[tuple[str, str]] = []

    def record(sender: Any, task: Any, state: str, **kwargs: Any) -> None:
        runs.append((task.name, state))

    task_postrun.connect(record, weak=False)
    fast = {name: {**entry, "schedule": 0.05} for name, entry in app.conf.beat_schedule.items()}
    beat = InProcessBeat(fast)
    try:
        beat.start()
        deadline = time.monotonic() + 20
        while {name for name, _ in runs} < expected and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        beat.stop()
        task_postrun.disconnect(record)
    assert not beat.is_alive()
    assert {name for name, state in runs if state == "SUCCESS"} == expected, runs
    count = len(runs)
    time.sleep(0.2)
    assert len(runs) == count, "nothing runs after stop()"
