"""prunus.core: the shared sparse engine (masks, pruning, mirror-flow optimizers)."""

from __future__ import annotations

from core.atomic import atomic_path, write_json

__all__ = ["atomic_path", "write_json"]
