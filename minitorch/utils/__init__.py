"""Small helpers shared by the data pipeline, serialization and the training loop."""
from __future__ import annotations

from minitorch.utils.atomic import atomic_write, atomic_write_text, remove_temporaries
from minitorch.utils.progress import ProgressBar, format_meter, progress

__all__ = ["ProgressBar", "atomic_write", "atomic_write_text", "format_meter", "progress", "remove_temporaries"]
