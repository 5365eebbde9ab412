from django.db import models
from django.utils.translation import gettext_lazy as _


class CodeAttemptWindow(models.Model):
    """Failed code/PIN guesses of one API key or one client IP in the current window.

    Kept in the database (shared by every web worker), incremented with an atomic upsert.
    """

    key = models.CharField(max_length=100, unique=True, verbose_name=_("key"))
    window_started_at = models.DateTimeField(verbose_name=_("window started at"))
    failures = models.PositiveIntegerField(default=0, verbose_name=_("failures"))
    locked_until = models.DateTimeField(null=True, blank=True, verbose_name=_("locked until"))

    class Meta:
        verbose_name = _("code attempt window")
        verbose_name_plural = _("code attempt windows")

    def __str__(self) -> str:
        return f"{self.key}: {self.failures}"
