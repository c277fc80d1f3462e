"""Bounded types for the JSON API: every number and date a client sends is bounded at the schema.

An unbounded `int` reached the database as given: an offset or id beyond 64 bits overflowed
SQLite's integer and PostgreSQL's bigint (500), and a day such as 9999-12-31 overflowed when
turned into the next midnight. These bounds make such values a 422 that names the field, and
the OpenAPI document shows them.

No `from __future__ import annotations` here: Ninja reads the annotations at import time.
"""

from datetime import date
from typing import Annotated

from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

from shouwang.core.bounds import FIRST_DAY, LAST_DAY

MAX_ID = 2**63 - 1  # bigint, and SQLite's integer
MAX_LIMIT = 500
MAX_OFFSET = 2**31 - 1  # far beyond any list we hold, far below any overflow

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Day = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]


class Issue(Schema):
    type: str
    loc: list[str | int]
    msg: str


class Problem(Schema):
    """Every error answer: a sentence, Ninja's list of field issues, or field → messages."""

    detail: str | list[Issue] | dict[str, list[str]]


class BoundedPagination(LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(100, ge=1, le=MAX_LIMIT)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)
