"""The difference between a targeted group and its holdout, with a 95% confidence interval
(normal approximation with each group's own variance, Welch's), in Decimal: money in, money
out, no float.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

Z_95 = Decimal("1.96")


@dataclass(frozen=True)
class Difference:
    targeted: Decimal  # the targeted group's mean
    holdout: Decimal
    difference: Decimal
    low: Decimal | None  # None: a group is too small for a variance
    high: Decimal | None


def _mean_variance(values: Sequence[Decimal]) -> tuple[Decimal, Decimal | None]:
    if not values:
        return Decimal(0), None
    mean = sum(values, Decimal(0)) / len(values)
    if len(values) < 2:
        return mean, None
    return mean, sum(((v - mean) ** 2 for v in values), Decimal(0)) / (len(values) - 1)


def difference(
    targeted: Sequence[Decimal], holdout: Sequence[Decimal], *, places: Decimal
) -> Difference:
    """Mean of `targeted` minus mean of `holdout`, each figure quantized to `places`."""
    mean_t, var_t = _mean_variance(targeted)
    mean_h, var_h = _mean_variance(holdout)
    diff = mean_t - mean_h
    low = high = None
    if var_t is not None and var_h is not None:
        margin = Z_95 * (var_t / len(targeted) + var_h / len(holdout)).sqrt()
        low, high = (diff - margin).quantize(places), (diff + margin).quantize(places)
    return Difference(
        targeted=mean_t.quantize(places),
        holdout=mean_h.quantize(places),
        difference=diff.quantize(places),
        low=low,
        high=high,
    )
