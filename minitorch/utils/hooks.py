"""Handles and registries of global hooks (PyTorch's ``torch.utils.hooks``): a module's forward pre-hooks, an
optimizer's step pre-hooks."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


class RemovableHandle:
    """What registering a hook returns: ``handle.remove()`` unregisters it."""

    def __init__(self, hooks: GlobalHooks, key: int) -> None:
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)


class GlobalHooks:
    """Global hooks in the order they were registered; ``.all`` is the tuple of them that every call runs.

    The tuple is rebuilt when a hook comes or goes, so the hot path (every
    ``module(...)``, every optimizer step) loops over a ready snapshot instead
    of copying a dict each time; a hook that removes itself while running does
    not disturb the loop.
    """

    def __init__(self) -> None:
        self._hooks: dict[int, Callable[..., None]] = {}
        self._next_key = 0
        self.all: tuple[Callable[..., None], ...] = ()

    def add(self, hook: Callable[..., None]) -> RemovableHandle:
        """Register ``hook``; returns the handle that removes it."""
        key, self._next_key = self._next_key, self._next_key + 1
        self._hooks[key] = hook
        self.all = tuple(self._hooks.values())
        return RemovableHandle(self, key)

    def pop(self, key: int, default: Any = None) -> Any:
        """Unregister the hook registered under ``key`` (what :meth:`RemovableHandle.remove` calls)."""
        hook = self._hooks.pop(key, default)
        self.all = tuple(self._hooks.values())
        return hook
