from django.urls import path
from django.views.i18n import set_language

from portal.views import account, auth, wallet

app_name = "portal"

urlpatterns = [
    path("", auth.home, name="home"),
    path("sign-in/", auth.sign_in_view, name="sign_in"),
    path("register/", auth.register_view, name="register"),
    path("code/", auth.code_view, name="code"),
    path("sign-out/", auth.sign_out_view, name="sign_out"),
    path("language/", set_language, name="set_language"),
    path("wallet/", wallet.wallet_view, name="wallet"),
    path("wallet/gift-cards/<str:public_id>/", wallet.gift_card_view, name="gift_card"),
    path("wallet/loyalty/<str:public_id>/", wallet.loyalty_view, name="loyalty"),
    path("wallet/claim/", wallet.claim_view, name="claim"),
    path("wallet/link-loyalty-card/", wallet.loyalty_link_view, name="loyalty_link"),
    path("wallet/link-loyalty-card/code/", wallet.loyalty_link_code_view, name="loyalty_link_code"),
    path("wallet/cards/", wallet.bank_cards_view, name="bank_cards"),
    path("wallet/cards/save/", wallet.bank_card_save_view, name="bank_card_save"),
    path(
        "wallet/cards/<str:public_id>/default/",
        wallet.bank_card_default_view,
        name="bank_card_default",
    ),
    path(
        "wallet/cards/<str:public_id>/remove/",
        wallet.bank_card_remove_view,
        name="bank_card_remove",
    ),
    path("purchases/", account.purchases_view, name="purchases"),
    path("purchases/<str:public_id>/", account.receipt_view, name="receipt"),
    path("privacy/", account.privacy_view, name="privacy"),
    path("privacy/consent/", account.consent_view, name="consent"),
    path("privacy/my-data.json", account.export_view, name="export"),
    path("privacy/erase/", account.erase_view, name="erase"),
    path("erased/", account.erased_view, name="erased"),
]
