"""Paging for the staff lists: one page size, and pager links that keep the filters."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

PAGE_SIZE = 50


def page_of(request: HttpRequest, queryset: QuerySet[Any], size: int = PAGE_SIZE) -> Page[Any]:
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    """The list's filters, for the pager's links to carry to the next page."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()
