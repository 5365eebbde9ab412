#!/usr/bin/env python
"""Django's command-line utility; with no DATABASE_URL it starts the embedded PostgreSQL."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    from config.embedded import bootstrap_database_url

    bootstrap_database_url()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
