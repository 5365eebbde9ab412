"""Model fields shared by the apps."""

from django.db.models.expressions import Combinable
from djmoney.models.fields import MoneyField as _DjangoMoneyField
from moneyed import Money


class MoneyField(_DjangoMoneyField):
    """django-money's field (an amount column plus a currency column), typed as `Money` for
    mypy: django-stubs reads these two names to type model attributes and constructor kwargs."""

    _pyi_private_set_type: Money | Combinable  # type: ignore[assignment]
    _pyi_private_get_type: Money  # type: ignore[assignment]
