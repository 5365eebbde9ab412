from django.db import models


class CodeAttemptWindow(models.Model):
    """Failed code/PIN guesses of one API key or one client IP in the current window.

    Kept in the database (shared by every web worker), incremented with an atomic upsert.
    """

    key = models.CharField(max_length=100, unique=True)
    window_started_at = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.failures}"
