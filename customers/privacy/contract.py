"""The customer-data contract: one handler per app that holds data about a customer.

Each app that has a model with a foreign key to `Customer` registers one `CustomerDataHandler`
from its `AppConfig.ready()`. customers orchestrates (locks, order, audit) and calls the
handlers; it never writes another app's tables itself.

- `export(customer=...)`: everything the app holds on the person, JSON-ready. Values may be
  iterators (of JSON-ready values): the export streams them as arrays without loading them.
- `stored_value(customer=...)`: money (or points) the person still has with the app, which an
  erasure may not take without a decision (`forfeit` or `keep`).
- `erase(context=...)`: inside the erasure's transaction, with the customer locked: remove or
  pseudonymise personal data, keep what the law requires; returns a summary without personal
  data for the audit record.
- `erase_external(customer=...)`: after that transaction, outside any transaction: clean-up at
  third parties (Stripe). It must be idempotent: a failed attempt is retried by a task.
- `merge(absorbed=..., survivor=...)`: with both customers locked, move the app's rows from
  `absorbed` to `survivor` under the app's own row locks; return what moved (`Moved`).
- `unmerge_check(...)` and `unmerge(...)`: refuse (raise) if rows the merge moved have changed
  since, else move exactly those rows back.
- `last_activity(customer=...)`: the latest time the person used the app (inactivity erasure).
- `retention_purge(now=...)`: drop what the app keeps past its retention windows.

`references` lists every `(model label, field name)` pointing at `Customer` that the handler
covers (holdings it moves and history it leaves); a test fails when a foreign key to Customer
is covered by no handler.
"""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from django.db import connection, models

if TYPE_CHECKING:
    from customers.models import Customer, CustomerMerge

REDACTED = "[erased]"


@dataclass(frozen=True)
class Moved:
    """Rows of one model whose foreign key `field` a merge re-pointed."""

    model: str
    field: str
    pks: list[int]

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "field": self.field, "pks": self.pks}


@dataclass
class ErasureContext:
    """What an app's `erase` needs: the locked customer, the decision on stored value, who acts,
    and the customer's personal values (names, identifier values) to redact from free text."""

    customer: "Customer"
    stored_value: str | None
    actor: str
    needles: tuple[str, ...] = field(default_factory=tuple)

    def redact(self, text: str) -> str:
        """`text` with every personal value of the customer replaced (case-insensitively)."""
        return text_redact(text, self.needles)

    def redact_json(self, value: Any) -> Any:
        return json_redact(value, self.needles)

    def mentions(self, text: str) -> bool:
        lowered = text.lower()
        return any(needle in lowered for needle in self.needles)


def text_redact(text: str, needles: Iterable[str]) -> str:
    if not text:
        return text
    result = text
    for needle in sorted(set(needles), key=len, reverse=True):
        lowered = result.lower()
        start = lowered.find(needle)
        while start != -1:
            result = result[:start] + REDACTED + result[start + len(needle) :]
            lowered = result.lower()
            start = lowered.find(needle, start + len(REDACTED))
    return result


def json_redact(value: Any, needles: Iterable[str]) -> Any:
    needles = tuple(needles)
    if isinstance(value, str):
        return text_redact(value, needles)
    if isinstance(value, dict):
        return {text_redact(k, needles): json_redact(v, needles) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_redact(item, needles) for item in value]
    return value


class CustomerDataHandler:
    """Base class with the do-nothing defaults; an app overrides what it holds."""

    app_label: ClassVar[str]
    # Lower runs first when exporting and merging; erasure runs in the reverse order, so the
    # apps that depend on others (payments) are erased before what they refer to.
    order: ClassVar[int]
    references: ClassVar[frozenset[tuple[str, str]]] = frozenset()

    def export(self, *, customer: "Customer") -> Mapping[str, Any]:
        return {}

    def stored_value(self, *, customer: "Customer") -> list[dict[str, Any]]:
        return []

    def erase(self, *, context: ErasureContext) -> dict[str, Any]:
        return {}

    def erase_external(self, *, customer: "Customer") -> dict[str, Any]:
        return {}

    def merge(self, *, absorbed: "Customer", survivor: "Customer") -> list[Moved]:
        return []

    def unmerge_check(
        self, *, merge: "CustomerMerge", moved: list[dict[str, Any]], survivor: "Customer"
    ) -> None:
        """Refuse (raise a customers error) when rows this merge moved changed since."""
        from customers.errors import MergedRowsChanged

        for move in moved:
            if rows_elsewhere(move, owner_id=survivor.pk):
                raise MergedRowsChanged(meta={"model": move["model"]})

    def unmerge(self, *, moved: list[dict[str, Any]], absorbed: "Customer") -> None:
        for move in moved:
            rows_move_back(move, to_id=absorbed.pk)

    def last_activity(self, *, customer: "Customer") -> datetime | None:
        return None

    def retention_purge(self, *, now: datetime) -> dict[str, int]:
        return {}


_HANDLERS: dict[str, CustomerDataHandler] = {}


def privacy_handler_register(handler: CustomerDataHandler) -> None:
    """Called from an app's `AppConfig.ready()`; registering an app twice replaces its handler."""
    _HANDLERS[handler.app_label] = handler


def privacy_handlers() -> list[CustomerDataHandler]:
    """Every registered handler in dependency order (customers first)."""
    return sorted(_HANDLERS.values(), key=lambda handler: handler.order)


def privacy_handler_for(app_label: str) -> CustomerDataHandler:
    return _HANDLERS[app_label]


# --- helpers a handler may use for its own models ---------------------------------------------


def _foreign_key(model: type[models.Model], name: str) -> "models.ForeignKey[Any, Any]":
    field = model._meta.get_field(name)
    if not isinstance(field, models.ForeignKey):
        raise TypeError(f"{model._meta.label}.{name} is not a foreign key")
    return field


def rows_lock(model: type[models.Model], field_name: str, *, owner_id: int) -> list[int]:
    """Lock the rows of `model` owned through `field_name` by customer `owner_id`, in pk order."""
    return list(
        model._default_manager.select_for_update(of=("self",))
        .filter(**{_foreign_key(model, field_name).attname: owner_id})
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def rows_repoint(model: type[models.Model], field_name: str, *, old: int, new: int) -> Moved | None:
    """Lock, then move every row of `model` from customer `old` to `new` in one statement.

    `UPDATE … RETURNING` reports exactly the rows moved, so the audit (and an unmerge) cannot
    miss one inserted between a read and the update. None when nothing moved.
    """
    rows_lock(model, field_name, owner_id=old)
    quote = connection.ops.quote_name
    table, column = quote(model._meta.db_table), quote(_foreign_key(model, field_name).column)
    pk_column = quote(model._meta.pk.column)
    with connection.cursor() as cursor:
        # Only quoted names from model metadata are interpolated; the values are parameters.
        cursor.execute(
            f"UPDATE {table} SET {column} = %s WHERE {column} = %s RETURNING {pk_column}",  # noqa: S608
            [new, old],
        )
        pks = sorted(row[0] for row in cursor.fetchall())
    return Moved(model._meta.label_lower, field_name, pks) if pks else None


def _rows(move: Mapping[str, Any]) -> tuple[models.QuerySet[Any], str]:
    from django.apps import apps

    model = apps.get_model(move["model"])
    attname = _foreign_key(model, move["field"]).attname
    return model._default_manager.filter(pk__in=move["pks"]), attname


def rows_elsewhere(move: Mapping[str, Any], *, owner_id: int) -> bool:
    """Whether a row the merge moved is gone or no longer belongs to `owner_id`."""
    rows, attname = _rows(move)
    return rows.count() != len(move["pks"]) or rows.exclude(**{attname: owner_id}).exists()


def rows_move_back(move: Mapping[str, Any], *, to_id: int) -> None:
    rows, attname = _rows(move)
    list(rows.select_for_update(of=("self",)).order_by("pk").values_list("pk", flat=True))
    rows.update(**{attname: to_id})


def moved_of(handler: CustomerDataHandler, moved: Iterable[Mapping[str, Any]]) -> list[Any]:
    """The entries of a merge's `moved` audit that belong to `handler`'s app."""
    return [dict(m) for m in moved if m["model"].split(".")[0] == handler.app_label]


def iter_export(rows: Iterable[Any]) -> Iterator[Any]:
    """Marks a lazily produced list for the streaming export (any iterator works)."""
    yield from rows
