from django.apps import AppConfig


class InsightsConfig(AppConfig):
    """Customer knowledge and offers: products, purchases, touchpoints, recommendations."""

    name = "insights"

    def ready(self) -> None:
        from insights import privacy  # noqa: F401  (registers its handler and consent deleter)
