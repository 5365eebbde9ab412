from django.urls import path

from wallet.api import views

urlpatterns = [
    path("customers/<uuid:customer_id>/wallet", views.CustomerWalletView.as_view(), name="wallet"),
    path(
        "customers/<uuid:customer_id>/loyalty",
        views.LoyaltyAccountsView.as_view(),
        name="loyalty-accounts",
    ),
    path(
        "customers/<uuid:customer_id>/loyalty/<uuid:account_id>/history",
        views.LoyaltyHistoryView.as_view(),
        name="loyalty-history",
    ),
    path(
        "customers/<uuid:customer_id>/bank-cards",
        views.BankCardsView.as_view(),
        name="bank-cards",
    ),
    path(
        "customers/<uuid:customer_id>/bank-cards/<uuid:card_id>",
        views.BankCardView.as_view(),
        name="bank-card",
    ),
    path(
        "customers/<uuid:customer_id>/bank-cards/<uuid:card_id>/default",
        views.BankCardDefaultView.as_view(),
        name="bank-card-default",
    ),
    path("gift-cards", views.GiftCardIssueView.as_view(), name="gift-card-issue"),
    path("gift-cards/balance", views.GiftCardBalanceView.as_view(), name="gift-card-balance"),
    path("gift-cards/claim", views.GiftCardClaimView.as_view(), name="gift-card-claim"),
    path("gift-cards/<uuid:gift_card_id>", views.GiftCardDetailView.as_view(), name="gift-card"),
    path(
        "gift-cards/<uuid:gift_card_id>/reload",
        views.GiftCardReloadView.as_view(),
        name="gift-card-reload",
    ),
    path(
        "gift-cards/<uuid:gift_card_id>/activate",
        views.GiftCardActivateView.as_view(),
        name="gift-card-activate",
    ),
    path(
        "gift-cards/<uuid:gift_card_id>/block",
        views.GiftCardBlockView.as_view(),
        name="gift-card-block",
    ),
    path(
        "gift-cards/<uuid:gift_card_id>/unblock",
        views.GiftCardUnblockView.as_view(),
        name="gift-card-unblock",
    ),
    path("vouchers", views.VoucherIssueView.as_view(), name="voucher-issue"),
    path("vouchers/validate", views.VoucherValidateView.as_view(), name="voucher-validate"),
]
