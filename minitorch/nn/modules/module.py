"""Module: the base class of layers and networks (PyTorch's ``nn.Module``).

Parameters, buffers and sub-modules live as ordinary attributes, so reading
``self.weight`` in ``forward`` costs nothing extra; ``__setattr__`` only notes
their names, in order, for ``named_parameters`` and ``state_dict``.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from minitorch.backend import as_float_dtype, check_device, get_array_module, is_device, to_device
from minitorch.nn.parameter import Parameter
from minitorch.tensor import Tensor
from minitorch.utils.hooks import GlobalHooks, RemovableHandle

# Called before every module's forward (through ``module(...)``) as hook(module, args); see
# register_module_forward_pre_hook.  minitorch.capture learns from it which modules a step uses.
_global_forward_pre_hooks = GlobalHooks()


def register_module_forward_pre_hook(hook: Callable[[Any, tuple], None]) -> RemovableHandle:
    """Call ``hook(module, args)`` before the forward of every module called as ``module(*args)``
    (PyTorch's ``torch.nn.modules.module.register_module_forward_pre_hook``, without replacing args)."""
    return _global_forward_pre_hooks.add(hook)


def _typename(value: Any) -> str:
    """``value``'s type as PyTorch's errors name it: ``minitorch.Tensor``, ``int``, ``minitorch.nn...Linear``."""
    if isinstance(value, Tensor):
        return "minitorch.Tensor"
    cls = type(value)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


class IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    training: bool
    # names, in order, of the attributes that hold parameters, buffers and sub-modules: tuples, replaced whole
    # when a name comes or goes, so that a captured step's guard compares one object each, not a list's items
    _param_names: tuple[str, ...]
    _buffer_names: tuple[str, ...]
    _module_names: tuple[str, ...]
    # the buffers among _buffer_names that state_dict leaves out; a class default as well, for modules
    # saved whole (minitorch.save) before it existed
    _non_persistent_names: tuple[str, ...] = ()

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_param_names", ())
        object.__setattr__(self, "_buffer_names", ())
        object.__setattr__(self, "_module_names", ())
        object.__setattr__(self, "_non_persistent_names", ())

    def _register(self, registry: str, name: str, present: bool) -> None:
        """Add ``name`` to (``present``) or drop it from the registry ``registry`` (``"_param_names"`` ...)."""
        names = getattr(self, registry)
        if present and name not in names:
            object.__setattr__(self, registry, (*names, name))
        elif not present and name in names:
            object.__setattr__(self, registry, tuple(n for n in names if n != name))

    def __setattr__(self, name: str, value: Any) -> None:
        if "_param_names" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        if name in self._param_names:
            # A parameter may be replaced by a Parameter or by None (it stays registered, as PyTorch keeps it);
            # anything else, a plain Tensor above all, would silently stop it being trained and saved.
            if value is not None and not isinstance(value, Parameter):
                raise TypeError(f"{type(self).__name__}: cannot assign '{_typename(value)}' as parameter "
                                f"'{name}' (minitorch.nn.Parameter or None expected)")
        elif isinstance(value, Parameter):
            self._register("_param_names", name, True)
        self._register("_module_names", name, isinstance(value, Module))
        if name in self._buffer_names and value is not None and not isinstance(value, Tensor):
            raise TypeError(f"{type(self).__name__}: buffer {name!r} must be a Tensor, got {type(value).__name__}")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for registry in ("_param_names", "_buffer_names", "_module_names", "_non_persistent_names"):
            self._register(registry, name, False)
        object.__delattr__(self, name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as the child ``name`` (as ``setattr`` does, for names made at run time)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.add_module: {name!r} is a {type(module).__name__}, not a Module")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"{type(self).__name__}.add_module: module name must be a non-empty string without "
                           f"'.', got {name!r}")
        setattr(self, name, module)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """State that is not trained but moves with the module (``to``, ``double``...), e.g. running statistics.

        A persistent buffer is saved in ``state_dict``; a non-persistent one is not
        (nor expected by ``load_state_dict``): for values the module can recompute,
        such as a cached mask or table, as in PyTorch.
        """
        if not isinstance(name, str) or not name or "." in name:  # a dotted name could not be loaded back
            raise KeyError(f"{type(self).__name__}.register_buffer: buffer name must be a non-empty string without "
                           f"'.', got {name!r}")
        if tensor is not None and not isinstance(tensor, Tensor):  # checked before the name is registered
            raise TypeError(f"{type(self).__name__}: buffer {name!r} must be a Tensor, got {type(tensor).__name__}")
        self._register("_buffer_names", name, True)
        self._register("_non_persistent_names", name, not persistent)
        setattr(self, name, tensor)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        for hook in _global_forward_pre_hooks.all:
            hook(self, args)
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------ traversal
    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name in self._module_names:
            yield name, self.__dict__[name]

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for mod_prefix, module in modules:
            for name in module._param_names:
                param = module.__dict__[name]
                if param is not None and id(param) not in seen:
                    seen.add(id(param))
                    yield (f"{mod_prefix}.{name}" if mod_prefix else name), param

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        for mod_prefix, module in self.named_modules(prefix):
            for name in module._buffer_names:
                buf = module.__dict__.get(name)
                if buf is not None:
                    yield (f"{mod_prefix}.{name}" if mod_prefix else name), buf

    def buffers(self) -> Iterator[Tensor]:
        for _, buf in self.named_buffers():
            yield buf

    def apply(self, fn: Any) -> Module:
        """Call ``fn(module)`` on every sub-module, children first, then on this one (e.g. to initialise
        weights: ``model.apply(init_weights)``); returns ``self``."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Module:
        if not isinstance(mode, bool):  # train("eval") would leave every module in training mode
            raise ValueError(f"{type(self).__name__}.train: mode must be a bool, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for param in self.parameters():
            if set_to_none or param._grad is None:
                param._grad = None
            else:
                param._grad.zero_()

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    # ----------------------------------------------------- device and dtype
    def to(self, *args: Any, device: Any = None, dtype: Any = None, non_blocking: bool = False) -> Module:
        """Move every parameter and buffer to a device and/or cast the float ones to a dtype, in place:
        ``to("cuda")``, ``to(minitorch.device(...))``, ``to(float64)``, ``to(device, dtype)``."""
        for arg in args:
            if is_device(arg):
                device = arg
            else:
                dtype = arg
        if device is not None:
            device = check_device(device)
        if dtype is not None:
            dtype = as_float_dtype(dtype, "Module.to")

        def convert(a: Any) -> Any:
            if device is not None:
                a = to_device(a, device)
            if dtype is not None and a.dtype.kind == "f":
                a = a.astype(dtype, copy=False)
            return a

        for tensor in list(self.parameters()) + list(self.buffers()):
            tensor._data = convert(tensor._data)
            if tensor._grad is not None:
                tensor._grad._data = convert(tensor._grad._data)
        return self

    def float(self) -> Module:
        return self.to(np.float32)

    def double(self) -> Module:
        return self.to(np.float64)

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self) -> Module:
        return self.to("cuda")

    # ---------------------------------------------------------- state dicts
    def _named_state(self) -> Iterator[tuple[str, Tensor]]:
        """The tensors of ``state_dict`` by dotted name: per module its parameters, then its persistent buffers
        (PyTorch's order)."""
        for prefix, module in self.named_modules():
            for name in module._param_names + module._buffer_names:
                tensor = module.__dict__.get(name)
                if tensor is not None and name not in module._non_persistent_names:
                    yield (f"{prefix}.{name}" if prefix else name), tensor

    def state_dict(self) -> OrderedDict[str, Tensor]:
        """Parameters and persistent buffers by dotted name (tensors sharing this module's arrays)."""
        return OrderedDict((name, tensor.detach()) for name, tensor in self._named_state())

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values into this module's tensors, checking names and shapes first (nothing changes on error).

        The keys expected are those ``state_dict`` gives: non-persistent buffers are neither needed nor taken.
        """
        where = f"load_state_dict into {type(self).__name__}"
        if not isinstance(state_dict, Mapping):  # e.g. a whole model, as load() gives for save(model)
            raise TypeError(f"{where}: expected a dict of tensors by name (as state_dict() gives), got "
                            f"{type(state_dict).__name__}")
        own = OrderedDict(self._named_state())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise ValueError(f"{where}: missing keys {missing}, unexpected keys {unexpected}")
        updates = []
        for name, tensor in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            value = value._data if isinstance(value, Tensor) else value
            if get_array_module(value) is np:
                value = np.asarray(value)
                if value.dtype.kind not in "biuf":  # found here, not half-way through the copies below
                    raise TypeError(f"{where}: {name!r} is a {type(state_dict[name]).__name__} of dtype "
                                    f"{value.dtype} in the state dict; expected numbers")
            shape = tuple(value.shape)
            if shape != tensor.shape:
                raise ValueError(
                    f"{where}: {name!r} has shape {shape} in the state dict but {tensor.shape} in the module"
                )
            updates.append((tensor, value))
        for tensor, value in updates:
            tensor._data[...] = to_device(value, tensor.device)
            tensor._bump()
        return IncompatibleKeys(missing, unexpected)

    # ---------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in self.named_children()]
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n" + "\n".join(children) + "\n)"
