"""Small helpers shared by the data pipeline, serialization and the training loop."""
from __future__ import annotations

from minitorch.utils.atomic import atomic_write, atomic_write_text, remove_temporaries

__all__ = ["atomic_write", "atomic_write_text", "remove_temporaries"]
