"""Sequential: modules applied one after another."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from minitorch.nn.modules.module import Module


class Sequential(Module):
    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: argument {index} is a {type(module).__name__}, not a Module")
            setattr(self, str(index), module)
        self._layers = list(modules)  # plain list: the forward loop reads it directly

    def forward(self, input: Any) -> Any:
        for layer in self._layers:
            input = layer(input)
        return input

    def __getitem__(self, index: int) -> Module:
        return self._layers[index]

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers)

    def append(self, module: Module) -> Sequential:
        setattr(self, str(len(self._layers)), module)
        self._layers.append(module)
        return self
