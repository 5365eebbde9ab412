"""Celery app: eager in-process unless CELERY_BROKER_URL names a Redis or RabbitMQ broker.

Without a broker there is no `celery beat` either, so `run_local` runs the same beat schedule
(CELERY_BEAT_SCHEDULE) in a thread of its own: `InProcessBeat`.
"""

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from celery import Celery
from celery.schedules import BaseSchedule, maybe_schedule
from django.db import close_old_connections, connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("kassa")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)

# Longest nap between two looks at the schedule (beat's own default is 5 minutes).
MAX_SLEEP_SECONDS = 60.0


@dataclass
class _Entry:
    name: str
    task: str
    schedule: BaseSchedule
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    last_run_at: datetime


class InProcessBeat(threading.Thread):
    """Calls each task of the beat schedule at its interval, inline, until `stop()`.

    A task that fails is logged and runs again at its next interval: one bad run must not end
    the expiry of holds for the rest of the process's life.
    """

    def __init__(self, schedule: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        super().__init__(name="kassa-beat", daemon=True)
        app.loader.import_default_modules()
        now = app.now()
        self._entries = [
            _Entry(
                name=name,
                task=entry["task"],
                schedule=maybe_schedule(entry["schedule"], app=app),
                args=tuple(entry.get("args", ())),
                kwargs=dict(entry.get("kwargs", {})),
                last_run_at=now,
            )
            for name, entry in (app.conf.beat_schedule if schedule is None else schedule).items()
        ]
        self._stopping = threading.Event()

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                next_check = MAX_SLEEP_SECONDS
                for entry in self._entries:
                    due, next_in = entry.schedule.is_due(entry.last_run_at)
                    if due and not self._stopping.is_set():
                        entry.last_run_at = app.now()
                        close_old_connections()
                        self._run(entry)
                    next_check = min(next_check, float(next_in))
                self._stopping.wait(next_check)
        finally:
            connections.close_all()

    def _run(self, entry: _Entry) -> None:
        try:
            app.tasks[entry.task].apply(args=entry.args, kwargs=entry.kwargs, throw=True)
        except Exception:
            logger.exception("periodic task %s (%s) failed", entry.name, entry.task)

    def stop(self, timeout: float = 30.0) -> None:
        """Let the task under way finish, then end the thread."""
        self._stopping.set()
        self.join(timeout)


def _connect_request_ids() -> None:
    """Carry the request id of `config.observability` from the web process into tasks."""
    from celery.signals import before_task_publish, task_postrun, task_prerun

    from config import observability

    before_task_publish.connect(observability.add_task_headers, weak=False)
    task_prerun.connect(observability.bind_task_request_id, weak=False)
    task_postrun.connect(observability.unbind_task_request_id, weak=False)


_connect_request_ids()
