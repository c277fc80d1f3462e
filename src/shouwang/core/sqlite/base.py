"""SQLite backend with SQLite's real bound-parameter limit.

Django 5.2 assumes the pre-3.32 limit of 999 parameters and so splits a 500-row bulk insert of
a 15-column table into eight statements. SQLite 3.32+ allows 32766; the ingest path's batches
then go in one statement each.
"""

from __future__ import annotations

import sqlite3

from django.db.backends.sqlite3 import base, features


class DatabaseFeatures(features.DatabaseFeatures):
    max_query_params = 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
