"""gunicorn settings for an app server of the topology (and of the Dockerfile)."""

import os

from prometheus_client import multiprocess

worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
graceful_timeout = 20
# Behind the load balancer's keep-alive: longer than its idle time-out is pointless.
keepalive = 5
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(L)ss rid=%({x-request-id}i)s'


def child_exit(server: object, worker: object) -> None:
    """A dead worker's metric files are merged, not left to count as live."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
