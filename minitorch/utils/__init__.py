"""Small helpers shared by the data pipeline, serialization and the training loop, and a process-wide memory setting."""
from __future__ import annotations

from minitorch.utils.allocator import keep_freed_memory
from minitorch.utils.atomic import atomic_write, atomic_write_text, remove_temporaries

__all__ = ["atomic_write", "atomic_write_text", "keep_freed_memory", "remove_temporaries"]
