"""Containers: Sequential (modules applied one after another), ModuleList, ModuleDict and ParameterList
(modules or parameters held so that ``parameters()`` and ``state_dict()`` see them, under PyTorch's names:
``0.weight``, ``layers.1.bias``, ``blocks.conv.weight``).

Sequential, ModuleList and ParameterList keep no list of their own: their items are their registered
children (or parameters), in registration order, read from Module's registry whenever they are needed.  So
whatever changes a child (``setattr(seq, "2", layer)``, ``add_module``, ``delattr``, ``seq[1] = layer``)
changes what ``forward``, ``len``, indexing and iteration see, just as it changes ``parameters()`` and
``state_dict()``; there is no second copy to fall out of step (PyTorch reads its ``_modules`` the same way).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from minitorch.nn.modules.module import Module
from minitorch.nn.parameter import Parameter
from minitorch.tensor import Tensor


def _index(index: Any, length: int, owner: str) -> int:
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError(f"{owner} indices must be integers or slices, not {type(index).__name__}")
    if not -length <= index < length:
        raise IndexError(f"{owner} index {index} is out of range for length {length}")
    return index % length


class _IndexedList(Module):
    """Items registered as attributes "0", "1", ..., and read back, in order, from the registry ``_registry``
    of Module (``"_module_names"`` or ``"_param_names"``) rather than from a list of their own."""

    _kind: type = Module
    _kind_name = "Module"
    _registry = "_module_names"

    def __init__(self, items: Iterable[Any] | None = None) -> None:
        super().__init__()
        if items is not None:
            self.extend(items)

    def _names(self) -> tuple[str, ...]:
        """The attribute names of the items, in order."""
        return self.__dict__[self._registry]

    def _values(self) -> list[Any]:
        """The items, in order."""
        attributes = self.__dict__
        return [attributes[name] for name in attributes[self._registry]]

    def _check(self, item: Any) -> Any:
        if not isinstance(item, self._kind):
            raise TypeError(f"{type(self).__name__}: expected a {self._kind_name}, got {type(item).__name__}")
        return item

    def _renumber(self, items: list[Any]) -> None:
        """Hold ``items`` under the names "0", "1", ... (after an insertion or a deletion, as PyTorch does)."""
        for name in self._names():
            delattr(self, name)
        for item in items:
            self.append(item)

    def append(self, item: Any) -> Any:
        setattr(self, str(len(self)), self._check(item))
        return self

    def extend(self, items: Iterable[Any]) -> Any:
        if isinstance(items, (Module, Tensor)) or not isinstance(items, Iterable):
            raise TypeError(f"{type(self).__name__}.extend: expected an iterable of {self._kind_name}s, "
                            f"got {type(items).__name__}")
        for item in items:
            self.append(item)
        return self

    def insert(self, index: int, item: Any) -> None:
        items = self._values()
        items.insert(index, self._check(item))
        self._renumber(items)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return type(self)(self._values()[index])
        names = self._names()
        return self.__dict__[names[_index(index, len(names), type(self).__name__)]]

    def __setitem__(self, index: int, item: Any) -> None:
        names = self._names()
        setattr(self, names[_index(index, len(names), type(self).__name__)], self._check(item))

    def __delitem__(self, index: int | slice) -> None:
        items = self._values()
        if isinstance(index, slice):
            del items[index]
        else:
            del items[_index(index, len(items), type(self).__name__)]
        self._renumber(items)

    def __len__(self) -> int:
        return len(self._names())

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values())

    def __iadd__(self, items: Iterable[Any]) -> Any:
        return self.extend(items)


class Sequential(_IndexedList):
    """Modules applied one after another, in the order of its children.

    It is a list of modules (``seq[i]``, ``seq[1:]``, ``seq[i] = m``, ``del seq[i]``, ``append``,
    ``insert``...) whose ``forward`` feeds each one's output to the next.
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: argument {index} is a {type(module).__name__}, not a Module")
            setattr(self, str(index), module)

    def forward(self, input: Any) -> Any:
        children = self.__dict__
        for name in self._module_names:  # one dict lookup a layer more than a list: nothing beside its call
            input = children[name](input)
        return input

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):  # a Sequential of those layers, under their names here (as in PyTorch)
            part = Sequential()
            for name in self._names()[index]:
                part.add_module(name, self.__dict__[name])
            return part
        return super().__getitem__(index)


class ModuleList(_IndexedList):
    """A list of modules, registered under their positions (``0.weight``, ``1.weight``...).

    Unlike Sequential it has no ``forward``: the owner decides how to call them.
    """

    _kind = Module
    _kind_name = "Module"

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleList has no forward(); call its modules in your own forward")


class ParameterList(_IndexedList):
    """A list of parameters, registered under their positions; a Tensor given to it becomes a Parameter."""

    _kind = Parameter
    _kind_name = "Parameter"
    _registry = "_param_names"

    def _check(self, item: Any) -> Any:
        if isinstance(item, Tensor) and not isinstance(item, Parameter):
            item = Parameter(item)
        return super()._check(item)

    def append(self, item: Any) -> Any:
        item = self._check(item)
        return super().append(item)

    def __setitem__(self, index: int, item: Any) -> None:
        super().__setitem__(index, self._check(item))

    def extra_repr(self) -> str:
        return "\n".join(f"({i}): Parameter containing: [{p.dtype} of size {p.shape}]"
                         for i, p in enumerate(self._values()))


class ModuleDict(Module):
    """An ordered dict of modules, registered under their keys (``blocks.conv.weight``)."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        if key not in self._module_names:
            raise KeyError(key)
        return self.__dict__[key]

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: {key!r} is a {type(module).__name__}, not a Module")
        if not isinstance(key, str) or not key or "." in key:
            raise KeyError(f"ModuleDict: keys must be non-empty strings without '.', got {key!r}")
        if key in self.__dict__ and key not in self._module_names or hasattr(type(self), key):
            raise KeyError(f"ModuleDict: the key {key!r} is the name of an attribute of ModuleDict")
        setattr(self, key, module)

    def __delitem__(self, key: str) -> None:
        if key not in self._module_names:
            raise KeyError(key)
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._module_names)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._module_names))

    def __contains__(self, key: object) -> bool:
        return key in self._module_names

    def keys(self) -> list[str]:
        return list(self._module_names)

    def values(self) -> list[Module]:
        return [self.__dict__[k] for k in self._module_names]

    def items(self) -> list[tuple[str, Module]]:
        return [(k, self.__dict__[k]) for k in self._module_names]

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        for key in self.keys():
            del self[key]

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for i, pair in enumerate(pairs):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"ModuleDict.update: element {i} should be a (key, module) pair, got {pair!r}")
            self[pair[0]] = pair[1]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleDict has no forward(); call its modules in your own forward")
