"""Find households by what a worker types: a door number, a compound, a building, or a whole
address as the pages print it ("东风花园 3号楼 2单元501", with or without spaces).

Households store only their door number; the rest of the address is the area tree above
them. So a typed word is read against the names of the areas the worker can see: every area
name found inside the word narrows to that part of the tree, and what is left of the word
must be part of the door number or of an area's name (a compound typed half: "东风").
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import F, Q, Value
from django.db.models.functions import Length

from shouwang.core.models import Area, AreaKind

_SEPARATORS = re.compile(r"[\s·,，、/]+")
# Enough for a whole address; more words than this is not a search but a paste accident.
MAX_WORDS = 5
MAX_LENGTH = 60


def _under_any(prefix: str, paths: list[str]) -> Q:
    match = Q(pk__in=[])
    for path in paths:
        match |= Q(**{f"{prefix}area__path__startswith": path})
    return match


def address_filter(user: Any, text: str, prefix: str = "") -> Q:
    """A filter for households (prefix "") or for anything holding one ("household__")
    whose address matches every word of `text`. Two queries per word, on areas only."""
    words = [w for w in _SEPARATORS.split(text.strip()[:MAX_LENGTH]) if w][:MAX_WORDS]
    areas = Area.objects.visible_to(user).filter(kind__gte=AreaKind.COMPOUND)
    condition = Q()
    for word in words:
        # Area names written inside the word, longest first ("12号楼" before "2号楼").
        named = list(
            areas.annotate(word=Value(word), length=Length("name"))
            .filter(word__contains=F("name"))
            .order_by("-length")
            .values_list("name", "path")
        )
        rest = word
        by_name: dict[str, list[str]] = {}
        for name, path in named:
            if name in rest or name in by_name:
                by_name.setdefault(name, []).append(path)
                rest = rest.replace(name, " ")
        for paths in by_name.values():
            condition &= _under_any(prefix, paths)
        for piece in rest.split():
            partial = list(areas.filter(name__icontains=piece).values_list("path", flat=True))
            condition &= Q(**{f"{prefix}door__icontains": piece}) | _under_any(prefix, partial)
    return condition
