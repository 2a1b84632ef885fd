"""The store fixtures of the integration suite (each backend: memory, SQLite, real Redis)."""

from __future__ import annotations

from integration.conftest import (  # noqa: F401 - fixtures, found by name
    backend,
    open_backing,
    redis_server,
    redis_url,
    store,
    store_url,
)
