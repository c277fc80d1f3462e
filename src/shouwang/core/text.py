"""Text as people type it into spreadsheets: full-width forms, odd spaces, line breaks.

Chinese input methods switch easily into full-width mode, so "１３８０００" and "ＡＢ" turn up
in ID numbers, phone numbers and door numbers; committees pad two-character names with
ideographic spaces so columns line up ("王　芳"). These helpers undo that without touching
the Chinese text itself (full NFKC would also rewrite some CJK compatibility characters).
"""

from __future__ import annotations

import re

# U+FF01..U+FF5E are the full-width twins of ASCII 0x21..0x7E; U+3000 is the ideographic space.
_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# Whitespace Excel and WPS leave in cells: line breaks inside a cell, no-break and zero-width
# spaces pasted from web pages and chat messages.
_SPACES = re.compile(r"[\s\u00a0\u200b\u200c\u200d\u2060\ufeff]+")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}·])\s+(?=[{_CJK}·])")


def fold_width(text: str) -> str:
    """Full-width ASCII letters, digits and punctuation as their ordinary forms."""
    return text.translate(_WIDTH)


def squash(text: str) -> str:
    """Width folded, every run of whitespace (line breaks included) removed."""
    return _SPACES.sub("", fold_width(text))


def tidy(text: str) -> str:
    """Width folded, whitespace runs made one space, outer spaces gone."""
    return _SPACES.sub(" ", fold_width(text)).strip()


def tidy_name(text: str) -> str:
    """A person's name: spaces between Chinese characters (padding) dropped, others kept."""
    return _SPACE_BETWEEN_CJK.sub("", tidy(text))
