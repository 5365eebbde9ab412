from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    """Customer knowledge and offers: products, purchases, touchpoints, recommendations."""

    name = "insights"

    verbose_name = _("Insights")

    def ready(self) -> None:
        from insights import privacy  # noqa: F401  (registers its handler and consent deleter)
