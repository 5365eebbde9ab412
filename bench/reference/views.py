"""R2: the ceiling for any Django checkout on this machine.

The same middleware, DRF, JSON parsing and rendering as the Kassa API, and in one transaction
the minimum a payment needs: lock two account rows (in primary-key order), move the amount
between their balances, write one payment row and two ledger rows. No authentication: a real
checkout's extra work is exactly what the comparison is meant to show.
"""

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.reference.models import RefAccount, RefLedgerRow, RefPayment
from config.errors import NotFound, PaymentRequired


class ReferenceInput(serializers.Serializer):
    debit = serializers.IntegerField(min_value=1)
    credit = serializers.IntegerField(min_value=1)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    currency = serializers.CharField(max_length=3)
    reference = serializers.CharField(max_length=64)


class ReferenceOutput(serializers.Serializer):
    id = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    debit_balance = serializers.DecimalField(max_digits=14, decimal_places=2)


class ReferenceInsufficientFunds(PaymentRequired):
    code = "insufficient_funds"


class ReferenceAccountNotFound(NotFound):
    code = "account_not_found"
    default_detail = "No such account pair."


class ReferenceCheckoutView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        data = ReferenceInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        amount = values["amount"]
        with transaction.atomic():
            accounts = {
                a.pk: a
                for a in RefAccount.objects.select_for_update()
                .filter(pk__in=[values["debit"], values["credit"]])
                .order_by("pk")
            }
            if len(accounts) != 2:
                raise ReferenceAccountNotFound()
            debit = accounts[values["debit"]]
            if debit.balance < amount:
                raise ReferenceInsufficientFunds()
            RefAccount.objects.filter(pk=debit.pk).update(balance=F("balance") - amount)
            RefAccount.objects.filter(pk=values["credit"]).update(balance=F("balance") + amount)
            payment = RefPayment.objects.create(
                amount=amount, currency=values["currency"], reference=values["reference"]
            )
            RefLedgerRow.objects.bulk_create(
                [
                    RefLedgerRow(payment=payment, account_id=debit.pk, amount=-amount),
                    RefLedgerRow(payment=payment, account_id=values["credit"], amount=amount),
                ]
            )
        body = {
            "id": payment.pk,
            "amount": amount,
            "currency": payment.currency,
            "debit_balance": debit.balance - amount,
        }
        return Response(ReferenceOutput(body).data, status=201)
