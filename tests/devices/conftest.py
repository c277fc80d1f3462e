"""Fixtures for ingestion: ingest keys and a helper to push over the HTTP API."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from shouwang.devices.services.keys import create_ingest_key

Push = Callable[..., Any]


@pytest.fixture
def generic_key(db: None) -> str:
    return create_ingest_key(None, "网关一号", "generic")[1]


@pytest.fixture
def push(generic_key: str) -> Push:
    client = Client()

    def _push(body: Any, adapter: str = "generic", key: str | None = None, **extra: Any) -> Any:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return client.post(
            f"/api/v1/ingest/{adapter}",
            data,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key or generic_key}",
            **extra,
        )

    return _push
