"""ASGI entry point: `shouwang serve` runs this under uvicorn."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shouwang.settings")
application = get_asgi_application()

# Turnstiles' verify requests skip the staff site's middleware (see shouwang/passes/asgi.py).
from shouwang.passes.asgi import gate_fast_path  # noqa: E402 - needs the apps loaded above

application = gate_fast_path(application)
