from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TillsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tills"
    verbose_name = _("Tills")

    def ready(self) -> None:
        # The offline gift card is one more class in payments' method registry; it lives here
        # so that payments never imports tills (dependencies run one way).
        from tills import tender_method  # noqa: F401
