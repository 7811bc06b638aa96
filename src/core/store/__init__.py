"""State shared by every instance: the ``Store`` primitives, three backends and ``open_store``.

Backends are imported inside ``open_store`` so that boto3 loads only when DynamoDB is configured. The
protocol also declares ``cipher`` (the key for secrets at rest, used by ``records``) and ``async init()``
(SQLite creates its schema on open; DynamoDB creates the table when missing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.store.base import Cond, IfAbsent, IfExpired, IfOwner, IfVersion, Item, Store

if TYPE_CHECKING:
    from core.config import StoreConfig

__all__ = ["Cond", "IfAbsent", "IfExpired", "IfOwner", "IfVersion", "Item", "Store", "open_store"]


def open_store(cfg: StoreConfig, *, dynamodb_client: Any = None, encryption_key: str | None = None) -> Store:
    """The backend ``cfg`` names. The key for secrets is ``encryption_key``, else ``cfg.encryption_key``
    (the config's); without one SQLite keeps a key file beside the database and memory uses a per-process
    key, while DynamoDB then cannot store credentials."""
    from core import crypto

    cipher = crypto.cipher_for_store(cfg.backend, cfg.path, encryption_key or cfg.encryption_key)
    if cfg.backend == "memory":
        from core.store.memory import MemoryStore

        return MemoryStore(cipher=cipher)
    if cfg.backend == "sqlite":
        from core.store.sqlite import SqliteStore

        return SqliteStore(cfg.path, cipher=cipher)
    if cfg.backend == "dynamodb":
        from core.store.dynamodb import DynamoStore

        return DynamoStore(cfg, client=dynamodb_client, cipher=cipher)
    raise ValueError(f"unknown store backend {cfg.backend!r}")
