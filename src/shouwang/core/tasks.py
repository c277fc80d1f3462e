"""Core's tasks: reading and importing large roster files outside the web request.

Defined beside their work in `services/roster_uploads.py`; imported here so that Huey's
consumer, which loads every app's `tasks` module, knows them.
"""

from __future__ import annotations

from shouwang.core.services.roster_uploads import check_roster_upload, import_roster_upload

__all__ = ["check_roster_upload", "import_roster_upload"]
