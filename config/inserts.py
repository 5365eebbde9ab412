"""Insert a row, the rows that point at it and a few unrelated ones in one statement.

A till sale writes a payment, its tenders, its event and a points lot: four INSERTs through the
ORM are four round trips and four compilations. `rows_insert` writes them as data-modifying
CTEs of one statement: the children take their foreign key from the parent's `RETURNING`, and
every value is prepared by its model field as the ORM's own INSERT prepares it (`pre_save`
with `add=True`, then `get_db_prep_save`), so `auto_now_add`, money and JSON fields behave as
with `save()`. No model signals are sent (Kassa connects none: side effects go through
`transaction.on_commit`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import Any

from django.db import connection
from django.db.models import Field, Model


def _fields(model: type[Model]) -> list[Field[Any, Any]]:
    """The columns an INSERT of `model` writes: every concrete field but an automatic key."""
    meta = model._meta
    return [f for f in meta.local_concrete_fields if f is not meta.auto_field and not f.generated]


def _value(field: Field[Any, Any], obj: Model) -> Any:
    value = field.pre_save(obj, add=True)
    if hasattr(value, "resolve_expression"):
        raise TypeError(f"{field}: rows_insert takes values, not expressions")
    return field.get_db_prep_save(value, connection=connection)


def _cte(name: str, objs: Sequence[Model], params: list[Any], *, link: str | None = None) -> str:
    """`name AS (INSERT … VALUES … RETURNING <primary key> AS pk)`; `link`: the foreign key's
    column, whose value is the parent's new key."""
    model = type(objs[0])
    fields = _fields(model)
    for obj in objs:  # foreign keys set from saved instances, as `save()` does
        obj._prepare_related_fields_for_save(  # type: ignore[attr-defined]  # bulk_create's
            operation_name="rows_insert", fields=[f for f in fields if f.column != link]
        )
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    rows = []
    for obj in objs:
        cells = []
        for field in fields:
            if field.column == link:
                cells.append("(SELECT pk FROM parent)")
            else:
                cells.append("%s")
                params.append(_value(field, obj))
        rows.append(f"({', '.join(cells)})")
    table = connection.ops.quote_name(model._meta.db_table)
    key = connection.ops.quote_name(model._meta.pk.column)
    # Names from the models' metadata and this module; every value is a parameter.
    values = ", ".join(rows)
    return f"{name} AS (INSERT INTO {table} ({columns}) VALUES {values} RETURNING {key} AS pk)"  # noqa: S608


def rows_insert(
    parent: Model, *, children: Sequence[Model] = (), others: Sequence[Model] = ()
) -> None:
    """Insert `parent`, `children` (each with exactly one foreign key to the parent's model,
    which is set to it) and `others` (standing on their own) in one statement, and give every
    instance its primary key, as `save()` would. Call inside the transaction they belong to.
    The models' keys are automatic (a sequence numbers the rows in the order given, which is how
    the keys are handed back)."""
    params: list[Any] = []
    ctes = [_cte("parent", [parent], params)]
    groups = [("child", children), ("other", others)]
    names: list[tuple[str, list[Model]]] = [("parent", [parent])]
    links: list[tuple[Field[Any, Any], list[Model]]] = []
    for prefix, objs in groups:
        for index, (model, group) in enumerate(groupby(objs, key=type)):
            members = list(group)
            name = f"{prefix}{index}"
            link = _parent_link(model, type(parent)) if prefix == "child" else None
            if link is not None:
                links.append((link, members))
            ctes.append(_cte(name, members, params, link=link.column if link else None))
            names.append((name, members))
    selects = ", ".join(f"(SELECT array_agg(pk ORDER BY pk) FROM {n})" for n, _ in names)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(ctes)} SELECT {selects}", params)
        ids = cursor.fetchone()
    for (_, members), pks in zip(names, ids, strict=True):
        for obj, pk in zip(members, pks, strict=True):
            obj.pk = pk
            obj._state.adding, obj._state.db = False, connection.alias
    for link, members in links:
        for child in members:
            setattr(child, link.name, parent)


def _parent_link(model: type[Model], parent: type[Model]) -> Field[Any, Any]:
    (link,) = (f for f in _fields(model) if f.is_relation and f.related_model is parent)
    return link
