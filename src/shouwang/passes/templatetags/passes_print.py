"""`{% qr text %}`: a pass code drawn as inline SVG, for pages that show many codes."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from shouwang.passes.views import qr_svg

register = template.Library()


@register.simple_tag
def qr(text: str) -> SafeString:
    return qr_svg(text, scale=4)
