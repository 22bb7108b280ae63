"""The Tensor's methods by job, each group a mixin over :class:`.base.TensorBase`.

:mod:`minitorch.tensor` puts them together into ``Tensor`` with the core
(attributes, conversion, arithmetic) and the engine function ``apply``.
"""
