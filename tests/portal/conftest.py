import re

import pytest
from django.core import mail

from customers.models import Channel
from customers.policy import PresentedIdentifier
from customers.services import customer_identify


@pytest.fixture(autouse=True)
def portal_merchant(settings, merchant):
    settings.KASSA_PORTAL_MERCHANT = merchant.name
    return merchant


def make_customer(merchant, email, *, verified=True, first_name="Ada"):
    result = customer_identify(
        merchant=merchant,
        identifiers=[PresentedIdentifier("email", email, verified=verified)],
        channel=Channel.WEB,
        first_name=first_name,
    )
    return result.customer


def last_code(to: str) -> str:
    message = [m for m in mail.outbox if to in m.to][-1]
    match = re.search(r"\b(\d{6})\b", str(message.body))
    assert match
    return match.group(1)


def sign_in(client, email: str) -> None:
    response = client.post("/portal/sign-in/", {"contact": email})
    assert response.status_code == 302
    response = client.post("/portal/code/", {"code": last_code(email)})
    assert response.status_code == 302, response.content
