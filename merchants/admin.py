from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from merchants.models import ApiKey, Merchant, Store, Terminal
from merchants.services import api_key_issue, api_key_revoke


class TerminalInline(admin.TabularInline):
    model = Terminal
    extra = 0
    fields = ("code", "name", "is_active")


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ("name", "public_id", "created_at")
    search_fields = ("name", "public_id")


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "merchant", "timezone")
    list_filter = ("merchant",)
    search_fields = ("code", "name")
    inlines = [TerminalInline]


@admin.register(Terminal)
class TerminalAdmin(admin.ModelAdmin):
    list_display = ("__str__", "name", "store", "is_active")
    list_filter = ("store__merchant", "store", "is_active")
    search_fields = ("code", "name", "store__code")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are issued through the service; the raw key is shown once, in the success message."""

    list_display = ("name", "prefix", "scope", "merchant", "terminal", "last_used_at", "revoked_at")
    list_filter = ("scope", "merchant", "revoked_at")
    search_fields = ("name", "prefix")
    fields = ("merchant", "scope", "terminal", "name")
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return ("merchant", "scope", "terminal", "name") if obj else ()

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            return
        issued, raw_key = api_key_issue(
            merchant=obj.merchant, scope=obj.scope, name=obj.name, terminal=obj.terminal
        )
        obj.pk = issued.pk
        messages.warning(
            request, gettext("Copy this key now, it is not shown again: %(key)s") % {"key": raw_key}
        )

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False

    @admin.action(description=_("Revoke selected keys"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            api_key_revoke(api_key=api_key)
        self.message_user(
            request, gettext("Revoked %(count)d key(s).") % {"count": queryset.count()}
        )
