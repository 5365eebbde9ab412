"""Linking a loyalty card in the portal: the number alone proves nothing; a code sent to the
card holder's verified contact does, and then the card (and its holder's wallet) is ours."""

import pytest

from customers.models import Channel, Identifier
from customers.normalisation import loyalty_card_number
from customers.policy import PresentedIdentifier
from customers.services import customer_identify
from tests.portal.conftest import last_code, make_customer, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def _card_holder(merchant, email: str, card: str):
    return customer_identify(
        merchant=merchant,
        identifiers=[
            PresentedIdentifier("email", email, verified=True),
            PresentedIdentifier("loyalty_card", card, verified=True),
        ],
        channel=Channel.POS,
    ).customer


def test_a_card_is_linked_once_its_holder_reads_back_the_code(client, merchant) -> None:
    ada = make_customer(merchant, "ada@example.com")
    card = loyalty_card_number("601000000701")
    holder = _card_holder(merchant, "ada.work@example.com", card)
    sign_in(client, "ada@example.com")

    response = client.post("/portal/wallet/link-loyalty-card/", {"card_number": card})
    assert response.status_code == 302
    wrong = client.post("/portal/wallet/link-loyalty-card/code/", {"code": "000000"})
    assert wrong.status_code == 200
    assert Identifier.objects.get(value=card).customer_id == holder.pk

    code = last_code("ada.work@example.com")
    done = client.post("/portal/wallet/link-loyalty-card/code/", {"code": code})
    assert done.status_code == 302
    assert Identifier.objects.get(value=card).customer_id == ada.pk
    holder.refresh_from_db()
    assert holder.merged_into_id == ada.pk


def test_an_unknown_card_gets_the_same_answer_and_no_code(client, merchant) -> None:
    make_customer(merchant, "ada@example.com")
    sign_in(client, "ada@example.com")
    from django.core import mail

    sent = len(mail.outbox)
    response = client.post(
        "/portal/wallet/link-loyalty-card/", {"card_number": loyalty_card_number("601000000702")}
    )
    assert response.status_code == 302
    assert len(mail.outbox) == sent
    refused = client.post("/portal/wallet/link-loyalty-card/code/", {"code": "123456"})
    assert refused.status_code == 200
