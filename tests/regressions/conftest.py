"""The store fixtures of the integration suite (each backend: memory, SQLite, real Redis,
a real Redis Cluster)."""

from __future__ import annotations

from integration.conftest import (  # noqa: F401 - fixtures, found by name
    backend,
    cluster_url,
    open_backing,
    redis_cluster,
    redis_server,
    redis_url,
    store,
    store_url,
)
