"""Who is signed in: the customer's id in Django's session (CSRF-protected, cookie secure in
production), followed through merges; an erased customer is signed out."""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse

from customers.models import Customer
from customers.selectors import customer_survivor_id
from portal.services import portal_merchant

CUSTOMER_KEY = "portal_customer"
PENDING_KEY = "portal_pending_code"


def sign_in(request: HttpRequest, customer: Customer) -> None:
    """A new session key on sign-in, so a session id fixed before it is worthless after."""
    request.session.cycle_key()
    request.session[CUSTOMER_KEY] = customer.pk
    request.session.pop(PENDING_KEY, None)


def sign_out(request: HttpRequest) -> None:
    request.session.flush()


def pending_code_set(session: SessionBase, *, code_id: int, purpose: str, shown: str) -> None:
    session[PENDING_KEY] = {"id": code_id, "purpose": purpose, "shown": shown}


def pending_code(session: SessionBase) -> dict[str, Any] | None:
    pending: dict[str, Any] | None = session.get(PENDING_KEY)
    return pending


def signed_in_customer(request: HttpRequest) -> Customer | None:
    pk = request.session.get(CUSTOMER_KEY)
    if pk is None:
        return None
    customer = (
        Customer.objects.select_related("merchant")
        .filter(pk=customer_survivor_id(pk), merchant=portal_merchant(), erased_at__isnull=True)
        .first()
    )
    if customer is None:
        sign_out(request)
    return customer


CustomerView = Callable[..., HttpResponseBase]


def customer_required(view: CustomerView) -> Callable[..., HttpResponseBase]:
    """Call `view(request, customer, ...)` for a signed-in customer; else go to sign-in."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        customer = signed_in_customer(request)
        if customer is None:
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('portal:sign_in')}?{query}")
        return view(request, customer, *args, **kwargs)

    return wrapper
