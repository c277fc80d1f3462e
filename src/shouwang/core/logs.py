"""Logging filters.

Django logs a refused request (403, 400) on `django.request` with the exception attached, so
an ordinary "your role may not do this" printed a whole traceback into the log, where it looks
like a crash and buries the real ones. A 4xx is the app working as designed: keep the one-line
record, drop the traceback. 5xx records keep theirs.
"""

from __future__ import annotations

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
