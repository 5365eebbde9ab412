"""The default for `make run` and `manage.py`: DEBUG on, local services on loopback."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
