"""minitorch.vision's transforms (they act on the raw arrays the dataset holds)."""
from minitorch.vision.transforms import *  # noqa: F403
from minitorch.vision.transforms import __all__  # noqa: F401
