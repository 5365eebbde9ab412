from django.apps import AppConfig


class TillsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tills"

    def ready(self) -> None:
        # The offline gift card is one more class in payments' method registry; it lives here
        # so that payments never imports tills (dependencies run one way).
        from tills import tender_method  # noqa: F401
