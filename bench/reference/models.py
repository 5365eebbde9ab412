"""R2's tables: the least a Django checkout must write (two balances, two ledger rows, one
payment), with the same kind of guard the wallet has (a balance never below zero)."""

from django.db import models
from django.db.models import Q


class RefAccount(models.Model):
    balance = models.DecimalField(max_digits=14, decimal_places=2)

    objects: models.Manager["RefAccount"] = models.Manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="ref_account_not_negative")
        ]

    def __str__(self) -> str:
        return f"account {self.pk}: {self.balance}"


class RefPayment(models.Model):
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    objects: models.Manager["RefPayment"] = models.Manager()

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} ({self.reference})"


class RefLedgerRow(models.Model):
    payment = models.ForeignKey(RefPayment, on_delete=models.PROTECT, related_name="rows")
    account = models.ForeignKey(RefAccount, on_delete=models.PROTECT, related_name="rows")
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    objects: models.Manager["RefLedgerRow"] = models.Manager()

    def __str__(self) -> str:
        return f"{self.amount} on account {self.account.pk}"
