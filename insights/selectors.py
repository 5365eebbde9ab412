"""Reading offers: precomputed rows only, no model is loaded per request."""

from dataclasses import dataclass
from decimal import Decimal

from customers.models import ConsentPurpose, Customer
from customers.services import consent_allows
from insights.models import Feedback, Popular, Product, Recommendation
from insights.recommend import REASON_POPULAR


@dataclass(frozen=True)
class Offer:
    sku: str
    name: str
    category: str
    price: Decimal | None
    currency: str
    reason: str
    score: float


def offers_for(
    *, customer: Customer, channel: str = "", limit: int = 10
) -> tuple[bool, list[Offer]]:
    """(personalised, offers): the customer's own offers with consent, else popular ones.

    Dismissed products are left out either way: the customer said so.
    """
    dismissed = set(
        Feedback.objects.filter(customer=customer, kind=Feedback.Kind.NOT_INTERESTED).values_list(
            "sku", flat=True
        )
    )
    personalised = consent_allows(customer=customer, purpose=ConsentPurpose.PERSONALISATION)
    picked: list[tuple[str, float, str]] = []
    if personalised:
        picked = [
            (row.sku, row.score, row.reason)
            for row in Recommendation.objects.filter(customer=customer)
            .exclude(sku__in=dismissed)
            .order_by("-score", "sku")[:limit]
        ]
    if not picked:
        personalised = False
        popular = Popular.objects.filter(merchant_id=customer.merchant_id, channel=channel)
        picked = [
            (row.sku, row.score, REASON_POPULAR)
            for row in popular.exclude(sku__in=dismissed).order_by("rank")[:limit]
        ]
    products = {
        row.sku: row
        for row in Product.objects.filter(
            merchant_id=customer.merchant_id, sku__in=[sku for sku, _, _ in picked]
        )
    }
    offers = []
    for sku, score, reason in picked:
        product = products.get(sku) or Product(sku=sku)
        offers.append(
            Offer(
                sku=sku,
                name=product.name,
                category=product.category,
                price=product.last_price,
                currency=product.currency,
                reason=reason,
                score=round(score, 4),
            )
        )
    return personalised, offers
