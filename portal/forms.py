"""The portal's forms: Django forms, labels and help text translated."""

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import ConsentPurpose
from portal.privacy import FORFEIT, KEEP


class ContactForm(forms.Form):
    contact = forms.CharField(
        label=_("Email or mobile number"),
        max_length=320,
        help_text=_("We send a 6-digit code to it."),
        widget=forms.TextInput(attrs={"autocomplete": "username", "inputmode": "email"}),
    )


class RegisterForm(forms.Form):
    first_name = forms.CharField(
        label=_("First name"),
        max_length=150,
        widget=forms.TextInput({"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=150,
        required=False,
        widget=forms.TextInput({"autocomplete": "family-name"}),
    )
    email = forms.EmailField(
        label=_("Email"), max_length=320, widget=forms.EmailInput({"autocomplete": "email"})
    )


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("6-digit code"),
        regex=r"^\s*\d{6}\s*$",
        max_length=12,
        error_messages={"invalid": _("Enter the 6 digits of the code.")},
        widget=forms.TextInput(
            {"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": r"\d{6}"}
        ),
    )


class ClaimForm(forms.Form):
    code = forms.CharField(
        label=_("Gift card code"),
        max_length=40,
        help_text=_("The 16 characters on the card; spaces and dashes do not matter."),
        widget=forms.TextInput({"autocomplete": "off", "autocapitalize": "characters"}),
    )
    pin = forms.RegexField(
        label=_("PIN"),
        regex=r"^\d{4,8}$",
        required=False,
        help_text=_("If the card has one."),
        widget=forms.TextInput({"autocomplete": "off", "inputmode": "numeric"}),
    )


class LoyaltyLinkForm(forms.Form):
    card_number = forms.CharField(
        label=_("Loyalty card number"),
        max_length=40,
        widget=forms.TextInput({"autocomplete": "off", "inputmode": "numeric"}),
    )


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(choices=ConsentPurpose.choices)
    granted = forms.TypedChoiceField(choices=[("1", "1"), ("0", "0")], coerce=lambda v: v == "1")


class CardSaveForm(forms.Form):
    setup_intent = forms.RegexField(regex=r"^seti_[A-Za-z0-9]{1,200}$")


class EraseForm(forms.Form):
    stored_value = forms.ChoiceField(
        label=_("Your remaining gift card value"),
        choices=[
            (KEEP, _("Keep it: the shop refunds or honours it")),
            (FORFEIT, _("Give it up")),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Why are you leaving? (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea({"rows": 3}),
    )
    confirm = forms.BooleanField(
        label=_("I understand that my account will be erased and I will be signed out.")
    )
