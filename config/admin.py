"""Admin building blocks shared by the apps: read-only inlines, and actions that run a service
for each selected object behind a confirmation page (with a form, e.g. a mandatory reason)."""

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from config.errors import KassaError


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=500
    )


class ReadOnlyInline(admin.TabularInline):
    """Rows shown as part of their parent's story; they change only through services."""

    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money rows are written by services only; the admin looks."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def confirming_data(request: HttpRequest) -> Any:
    """The form data of the confirming POST; None on the first POST from the change list."""
    return request.POST if request.POST.get("post") else None


def confirmed_action(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    objects: Iterable[Any],
    *,
    action: str,
    title: str,
    explanation: str,
    confirm_label: str,
    form: forms.Form,
    details: Callable[[Any], Sequence[str]],
    apply: Callable[[Any, forms.Form], str],
) -> TemplateResponse | None:
    """Show what will happen; on the confirming POST with a valid form, apply to each object,
    report each outcome (a refusal with its stable code) and record it in the admin history."""
    if request.POST.get("post") and form.is_valid():
        for obj in objects:
            try:
                done = apply(obj, form)
            except KassaError as error:
                modeladmin.message_user(
                    request, f"{obj}: {error.detail} ({error.code})", messages.ERROR
                )
            else:
                modeladmin.log_change(request, obj, done)
                modeladmin.message_user(request, f"{obj}: {done}", messages.SUCCESS)
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "explanation": explanation,
        "confirm_label": confirm_label,
        "objects": [(obj, details(obj)) for obj in objects],
        "form": form,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/confirm_action.html", context)
