"""The back office speaks the user's language: with `Accept-Language: fr` every app's change
lists (model names, column headers, filters, actions) are French; English stays the default."""

import html
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from moneyed import Money

from merchants.models import ApiKey, Merchant
from merchants.services import api_key_issue
from payments.models import Payment, Refund
from payments.services.common import PaymentRequest, TenderRequest
from payments.services.create import payment_create
from payments.services.refund import refund_create
from tests.factories import CustomerFactory
from tests.wallet.factories import issue_card, issue_voucher, open_loyalty

pytestmark = pytest.mark.django_db

# Change list -> French words its page must show (title, breadcrumbs, columns, filters, actions).
FRENCH = {
    "wallet_giftcard": [
        "objet carte cadeau à afficher",
        "Portefeuille",
        "Cartes cadeaux",
        "Par statut",
        "Disponible",
        "Bloquer les cartes sélectionnées…",
    ],
    "wallet_voucher": ["Bons d'achat", "Par type", "Valable à partir du", "Désactiver les bons"],
    "wallet_loyaltyaccount": ["Comptes de fidélité", "Programme", "Solde"],
    "wallet_loyaltyprogramme": ["Programmes de fidélité", "Taux d'acquisition"],
    "wallet_transfer": ["Mouvements", "Compte débité", "Compte crédité", "État", "Émission"],
    "wallet_ledgeraccount": ["Comptes du grand livre", "Par compte système", "Disponible"],
    "wallet_liabilitysnapshot": [
        "objet instantané du passif à afficher",
        "0 instantanés du passif",
    ],
    "payments_payment": [
        "objet paiement à afficher",
        "Montant capturé",
        "Par canal",
        "Rembourser le paiement sélectionné…",
    ],
    "payments_stripeevent": ["Événements Stripe", "Par reçu le"],
    "customers_customer": ["Clients", "Fusionner les clients sélectionnés…", "Fusionné dans"],
    "customers_customermerge": ["Fusions de clients", "Par origine", "Par fusion annulée le"],
    "customers_identityconflict": ["Conflits d'identité", "Par statut"],
    "customers_identifier": ["Identifiants", "Par vérifié"],
    "merchants_apikey": ["Clés d'API", "Préfixe", "Révoquer les clés sélectionnées"],
    "merchants_store": ["objet magasin à changer", "Magasins"],
    "merchants_terminal": ["Caisses", "Par active"],
    "tills_tillsession": ["Sessions de caisse", "Par statut", "Par ouvert le"],
    "tills_offlineshortfall": ["Créances hors ligne", "Par statut", "Recouvrée", "passée en perte"],
    "insights_segment": ["Segments", "Connaissance client", "Par type", "Règle", "groupe appris"],
    "insights_campaign": ["objet campagne à changer", "0 campagnes"],
    "insights_profile": ["objet profil à afficher", "0 profils"],
    "reconciliation_settlement": ["Rapprochement", "Caisse"],
}

ENGLISH = {
    "wallet_giftcard": ["Select gift card to view", "Gift cards", "By status", "Available"],
    "wallet_transfer": ["Transfers", "Debit account", "State"],
    "payments_payment": ["Captured amount", "Refund the selected payment…"],
    "tills_offlineshortfall": ["Offline shortfalls", "By status", "Recovered", "written off"],
    "merchants_apikey": ["Api keys", "Revoke selected keys"],
}


def text(client: Client, url: str, **headers: str) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, url
    return html.unescape(response.content.decode())


def refunded_payment(merchant: Merchant) -> Payment:
    """A gift card payment, captured, then refunded in part: a row on every payments page."""
    customer = CustomerFactory.create(merchant=merchant)
    card = issue_card(merchant, "50.00", customer=customer)
    key, _raw = api_key_issue(merchant=merchant, scope=ApiKey.Scope.MERCHANT, name="web")
    payment = payment_create(
        api_key=key,
        idempotency_key=str(uuid.uuid4()),
        client_ip=None,
        request=PaymentRequest(
            amount=Money("20.00", "EUR"),
            channel=Payment.Channel.WEB,
            customer=customer,
            external_reference="order-fr",
            capture=True,
            tenders=[TenderRequest(method="gift_card", gift_card=str(card.gift_card.public_id))],
        ),
    )
    refund_create(
        payment=payment,
        amount=Money("5.00", "EUR"),
        policy=Refund.Policy.REVERSE,
        allocations=[],
        reason="damaged",
        actor="system:test",
    )
    return payment


@pytest.fixture
def rows(merchant: Merchant) -> Payment:
    issue_voucher(merchant)
    open_loyalty(CustomerFactory.create(merchant=merchant))
    return refunded_payment(merchant)


def test_every_app_change_list_is_french_for_a_french_user(
    admin_client: Client, rows: Payment
) -> None:
    for page, words in FRENCH.items():
        shown = text(admin_client, reverse(f"admin:{page}_changelist"), accept_language="fr")
        missing = [word for word in words if word not in shown]
        assert not missing, (page, missing)


def test_a_payment_story_is_french_refunds_included(admin_client: Client, rows: Payment) -> None:
    url = reverse("admin:payments_payment_change", args=[rows.pk])
    shown = text(admin_client, url, accept_language="fr")
    for word in ("Remboursements", "Règlements", "Événements de paiement", "Chronologie"):
        assert word in shown
    assert "Refunds" not in shown


def test_the_admin_index_names_apps_and_models_in_french(admin_client: Client) -> None:
    shown = text(admin_client, reverse("admin:index"), accept_language="fr")
    for word in ("Portefeuille", "Paiements", "Commerçants", "Sessions de caisse", "Rapprochement"):
        assert word in shown
    for english in ("Gift cards", "Till sessions", "Ledger accounts"):
        assert english not in shown


def test_english_stays_the_default(admin_client: Client, rows: Payment) -> None:
    for page, words in ENGLISH.items():
        url = reverse(f"admin:{page}_changelist")
        for shown in (text(admin_client, url), text(admin_client, url, accept_language="en")):
            missing = [word for word in words if word not in shown]
            assert not missing, (page, missing)
