"""Sign-in and registration by a one-time code; sign-out."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from config.errors import KassaError
from customers.models import Customer
from portal import services
from portal.forms import CodeForm, ContactForm, RegisterForm
from portal.models import OneTimeCode
from portal.session import (
    customer_required,
    pending_code,
    pending_code_set,
    sign_in,
    sign_out,
    signed_in_customer,
)
from portal.views.common import client_ip, form_refuse

Purpose = OneTimeCode.Purpose


def home(request: HttpRequest) -> HttpResponse:
    signed_in = signed_in_customer(request) is not None
    return redirect("portal:wallet" if signed_in else "portal:sign_in")


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("portal:wallet")


def sign_in_view(request: HttpRequest) -> HttpResponse:
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            row = services.sign_in_start(
                merchant=services.portal_merchant(),
                contact=form.cleaned_data["contact"],
                client_ip=client_ip(request),
            )
        except KassaError as error:
            form_refuse(form, error, "contact")
        else:
            pending_code_set(
                request.session, code_id=row.pk, purpose=Purpose.SIGN_IN, shown=row.destination
            )
            request.session["portal_next"] = _next_url(request)
            return redirect("portal:code")
    return render(
        request, "portal/sign_in.html", {"form": form, "next": request.GET.get("next", "")}
    )


def register_view(request: HttpRequest) -> HttpResponse:
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            row = services.register_start(
                merchant=services.portal_merchant(),
                email=form.cleaned_data["email"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                client_ip=client_ip(request),
            )
        except KassaError as error:
            form_refuse(form, error, "email")
        else:
            pending_code_set(
                request.session, code_id=row.pk, purpose=Purpose.REGISTER, shown=row.destination
            )
            return redirect("portal:code")
    return render(request, "portal/register.html", {"form": form})


def _confirm(request: HttpRequest, pending: dict[str, object], code: str) -> Customer:
    code_id = int(str(pending["id"]))
    if pending["purpose"] == Purpose.REGISTER:
        return services.register_confirm(code_id=code_id, code=code)
    return services.sign_in_confirm(code_id=code_id, code=code)


def code_view(request: HttpRequest) -> HttpResponse:
    """Read the code back; the same page serves sign-in and registration."""
    pending = pending_code(request.session)
    if pending is None or pending["purpose"] == Purpose.LINK_LOYALTY:
        return redirect("portal:sign_in")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = _confirm(request, pending, form.cleaned_data["code"])
        except KassaError as error:
            form_refuse(form, error, "code")
        else:
            target = request.session.get("portal_next") or reverse("portal:wallet")
            sign_in(request, customer)
            return redirect(target)
    return render(request, "portal/code.html", {"form": form, "destination": pending["shown"]})


@require_POST
@customer_required
def sign_out_view(request: HttpRequest, customer: Customer) -> HttpResponse:
    sign_out(request)
    return redirect("portal:sign_in")
