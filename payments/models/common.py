"""Shared by the payment models: the money fields' arguments and the sales channel and status
choices.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 14, "decimal_places": 2, "default_currency": None}


class PaymentChannel(models.TextChoices):
    WEB = "web", _("Web")
    POS = "pos", _("Pos")


class PaymentStatus(models.TextChoices):
    AUTHORIZING = "authorizing", _("Authorizing")
    REQUIRES_ACTION = "requires_action", _("Requires Action")
    AUTHORIZED = "authorized", _("Authorized")
    CAPTURING = "capturing", _("Capturing")
    CAPTURED = "captured", _("Captured")
    VOIDING = "voiding", _("Voiding")
    VOIDED = "voided", _("Voided")
    FAILED = "failed", _("Failed")


class TenderStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    REQUIRES_ACTION = "requires_action", _("Requires Action")
    AUTHORIZED = "authorized", _("Authorized")
    CAPTURED = "captured", _("Captured")
    VOIDED = "voided", _("Voided")
    FAILED = "failed", _("Failed")
