"""Small helpers shared by the data pipeline and the training loop."""
from __future__ import annotations

from minitorch.utils.progress import ProgressBar, format_meter, progress

__all__ = ["ProgressBar", "format_meter", "progress"]
