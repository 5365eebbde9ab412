"""Another customer's objects are 404; a card claimed by someone else is refused anonymously."""

import pytest
from moneyed import Money

from customers.models import CustomerErasure
from tests.portal.conftest import make_customer, sign_in
from wallet.services import gift_card_claim, gift_card_issue

pytestmark = pytest.mark.django_db(transaction=True)


def test_another_customers_ids_are_404(client, merchant) -> None:
    make_customer(merchant, "ada@example.com")
    bob = make_customer(merchant, "bob@example.com", first_name="Bob")
    card = gift_card_issue(merchant=merchant, initial_value=Money("5", "EUR"), actor="system:t")
    gift_card_claim(gift_card=card.gift_card, customer=bob)
    sign_in(client, "ada@example.com")
    for path in (
        f"/portal/wallet/gift-cards/{card.gift_card.public_id}/",
        "/portal/wallet/gift-cards/not-a-uuid/",
        f"/portal/purchases/{card.gift_card.public_id}/",
        f"/portal/wallet/loyalty/{card.gift_card.public_id}/",
    ):
        assert client.get(path).status_code == 404, path
    response = client.post(f"/portal/wallet/cards/{card.gift_card.public_id}/remove/")
    assert response.status_code == 404


def test_a_card_someone_else_claimed_is_refused_without_saying_whose(client, merchant) -> None:
    make_customer(merchant, "ada@example.com")
    bob = make_customer(merchant, "bob@example.com", first_name="Bob")
    card = gift_card_issue(
        merchant=merchant, initial_value=Money("5", "EUR"), pin="1234", actor="system:t"
    )
    gift_card_claim(gift_card=card.gift_card, customer=bob)
    sign_in(client, "ada@example.com")
    body = client.post("/portal/wallet/claim/", {"code": card.code, "pin": "1234"}).content
    text = body.decode()
    assert "already in another wallet" in text
    assert "Bob" not in text
    assert "bob@example.com" not in text
    wrong = client.post("/portal/wallet/claim/", {"code": card.code, "pin": "9999"}).content
    assert "No gift card matches" in wrong.decode()


def test_erasure_erases_the_customer_and_signs_out(client, merchant) -> None:
    ada = make_customer(merchant, "ada@example.com")
    sign_in(client, "ada@example.com")
    response = client.post("/portal/privacy/erase/", {"confirm": "on", "reason": "moving"})
    assert response.status_code == 302
    erasure = CustomerErasure.objects.get(customer=ada)
    assert erasure.status == CustomerErasure.Status.COMPLETED
    assert erasure.actor == f"customer:{ada.public_id}"
    ada.refresh_from_db()
    assert ada.erased_at is not None
    assert (ada.first_name, ada.identifiers.count()) == ("", 0)
    assert client.get("/portal/wallet/").status_code == 302
    # The identifier is gone: signing in again gets the neutral answer and no code.
    from django.core import mail

    sent = len(mail.outbox)
    client.post("/portal/sign-in/", {"contact": "ada@example.com"})
    assert len(mail.outbox) == sent
