"""Health readings as people type them: the symptoms asked about and a body temperature.

Shared by every app that takes a declaration (quarantine's health checks, reporting's daily
declarations), so that a reading means the same and is refused for the same reasons
everywhere; the apps add where it goes.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

SYMPTOMS = {
    "cough": gettext_lazy("Cough"),
    "sore_throat": gettext_lazy("Sore throat"),
    "fatigue": gettext_lazy("Fatigue"),
    "short_breath": gettext_lazy("Shortness of breath"),
    "taste_smell": gettext_lazy("Loss of taste or smell"),
    "diarrhoea": gettext_lazy("Diarrhoea"),
}
LOWEST = Decimal("34.0")
HIGHEST = Decimal("43.0")
_UNIT = re.compile(r"\s*(°\s*C?|度)\s*$", re.IGNORECASE)  # ℃ is "°C" once normalised


def parse_temperature(text: Any) -> Decimal:
    """A body temperature in °C to one decimal, or ValidationError with the reason."""
    # NFKC turns full-width input (３７．２, common on Chinese phone keyboards) into 37.2.
    cleaned = unicodedata.normalize("NFKC", str(text)).strip()
    cleaned = _UNIT.sub("", cleaned.replace("。", ".").replace(",", "."))
    try:
        value = Decimal(cleaned)
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError(_("Enter the temperature as a number, e.g. 36.5.")) from exc
    if not value.is_finite() or not LOWEST <= value <= HIGHEST:
        raise ValidationError(_("A body temperature lies between 34 and 43 °C."))
    return value.quantize(Decimal("0.1"))
