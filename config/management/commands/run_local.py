import os
import signal
import subprocess
import sys
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from config.celery import InProcessBeat
from config.embedded import STATE_DIR, LocalStripe, ensure_localstripe, wait_for_port


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Command(BaseCommand):
    help = (
        "`make run`: migrate, load the demo data set and serve Kassa under gunicorn, with "
        "localstripe when no Stripe key is set, and a Celery worker with beat when a broker is "
        "(else the beat schedule runs in this process). Ctrl-C or SIGTERM stops every process "
        "it started, the embedded PostgreSQL included."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args: Any, **options: Any) -> None:
        signal.signal(signal.SIGTERM, _raise_exit)
        children: list[subprocess.Popen[bytes]] = []
        localstripe: LocalStripe | None = None
        beat: InProcessBeat | None = None
        try:
            if not os.environ.get("STRIPE_SECRET_KEY"):
                localstripe = ensure_localstripe(
                    settings.STRIPE_API_BASE, state_file=STATE_DIR / "localstripe.pickle"
                )
                self.stdout.write(f"Stripe: localstripe at {settings.STRIPE_API_BASE}")
            call_command("migrate", interactive=False, verbosity=0)
            call_command("createcachetable", verbosity=0)
            call_command("seed_demo", stdout=self.stdout)
            self.stdout.write(
                f"Mail and SMS (portal sign-in codes): {settings.KASSA_STATE_DIR / 'mail'}"
            )

            env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local"}
            bind = f"{options['host']}:{options['port']}"
            server = subprocess.Popen(  # noqa: S603
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi:application",
                    "--bind",
                    bind,
                    "--workers",
                    str(options["workers"]),
                    "--access-logfile",
                    "-",
                ],
                env=env,
            )
            children.append(server)
            if settings.CELERY_BROKER_URL:
                children.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "celery",
                            "-A",
                            "config",
                            "worker",
                            "--beat",
                            "--loglevel",
                            "INFO",
                            "--concurrency",
                            "2",
                        ],
                        env=env,
                    )
                )
            else:
                beat = InProcessBeat()
                beat.start()
                self.stdout.write("Periodic tasks: the beat schedule runs in this process")
            wait_for_port(options["host"], options["port"], process=server, timeout=30)
            self.stdout.write(
                self.style.SUCCESS(f"Kassa is serving on http://{bind}/ (Ctrl-C stops)")
            )
            server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            if beat is not None:
                beat.stop()
            for child in reversed(children):
                _stop(child)
            if localstripe is not None:
                localstripe.stop()
