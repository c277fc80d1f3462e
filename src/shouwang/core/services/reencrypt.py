"""Re-encrypting every encrypted column under the current key after a key rotation.

Rows written before a rotation stay readable (the old key stays configured) and move to the
new key when they are next saved. An operator who wants to retire the old key cannot wait
for that: this rewrites every value not yet under the current version, table by table, in
batches, each batch in its own transaction, so it can be stopped and run again at any point.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import connection, transaction

from shouwang.core import audit, crypto
from shouwang.core.fields import EncryptedTextField


@dataclass(frozen=True)
class Column:
    table: str
    pk: str
    column: str

    @property
    def context(self) -> str:
        return f"{self.table}.{self.column}"


def encrypted_columns() -> list[Column]:
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                pk_column = model._meta.pk.column if model._meta.pk else None
                if pk_column and field.column:
                    found.append(Column(model._meta.db_table, pk_column, field.column))
    return sorted(found, key=lambda c: (c.table, c.column))


def _stale_rows(column: Column, after: Any, batch: int) -> list[tuple[Any, str]]:
    quote = connection.ops.quote_name
    prefix = f"{crypto.current_key_version()}$"
    sql = (
        f"SELECT {quote(column.pk)}, {quote(column.column)} FROM {quote(column.table)} "  # noqa: S608
        f"WHERE {quote(column.column)} IS NOT NULL AND {quote(column.pk)} > %s "
        f"AND {quote(column.column)} NOT LIKE %s ORDER BY {quote(column.pk)} LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [after, prefix + "%", batch])
        return list(cursor.fetchall())


def _batches(column: Column, batch: int) -> Iterator[list[tuple[Any, str]]]:
    after: Any = 0
    while rows := _stale_rows(column, after, batch):
        yield rows
        after = rows[-1][0]


def reencrypt_all(actor: Any = None, batch: int = 500) -> dict[str, int]:
    """{"table.column": rows rewritten}. Each table's count is audited."""
    quote = connection.ops.quote_name
    done: dict[str, int] = {}
    for column in encrypted_columns():
        count = 0
        sql = (
            f"UPDATE {quote(column.table)} SET {quote(column.column)} = %s "  # noqa: S608
            f"WHERE {quote(column.pk)} = %s AND {quote(column.column)} = %s"
        )
        for rows in _batches(column, batch):
            params = [
                (crypto.encrypt(crypto.decrypt(stored, column.context), column.context), pk, stored)
                for pk, stored in rows
            ]
            with transaction.atomic(), connection.cursor() as cursor:
                # The old ciphertext in the WHERE: a row saved meanwhile is left as it was saved.
                cursor.executemany(sql, params)
            count += len(params)
        if count:
            with transaction.atomic():
                audit.record(
                    "crypto.reencrypt",
                    actor=actor,
                    details={
                        "column": column.context,
                        "rows": count,
                        "key_version": crypto.current_key_version(),
                    },
                )
        done[column.context] = count
    return done
