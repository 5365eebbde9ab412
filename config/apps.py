from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The project package as an app: shared API plumbing and the local-stack commands."""

    name = "config"
    verbose_name = "Kassa"
