# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Let torch's safe ``weights_only`` loader read mmengine checkpoints.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``, which only
unpickles allow-listed types. mmengine 0.10.7 saves its ``message_hub`` (a
``HistoryBuffer`` of numpy arrays per logged scalar) in every checkpoint and
loads them with a plain ``torch.load``, so ``--resume`` fails with
``Unsupported global: mmengine.logging.history_buffer.HistoryBuffer``.

Rather than switching ``weights_only`` off (which would let a checkpoint from
an untrusted source run code), :func:`allow_mmengine_checkpoints` adds exactly
the types that mmengine's checkpoints contain to
``torch.serialization.add_safe_globals``: mmengine's ``HistoryBuffer`` and the
numpy pieces needed to rebuild arrays and scalars. None of them runs
arbitrary code when unpickled. It runs when :mod:`gc_mmdet` is imported.
"""
import importlib
from typing import Any, List

__all__ = ['allow_mmengine_checkpoints', 'mmengine_checkpoint_globals']


def _resolve(path: str) -> Any:
    module, _, name = path.rpartition('.')
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def mmengine_checkpoint_globals() -> List[Any]:
    """The non-torch types pickled in an mmengine 0.10 checkpoint."""
    import numpy as np

    found = [
        _resolve('mmengine.logging.history_buffer.HistoryBuffer'),
        np.ndarray,
        np.dtype,
        # array and scalar reconstruction (numpy 2 moved numpy.core to _core)
        _resolve('numpy._core.multiarray._reconstruct'),
        _resolve('numpy.core.multiarray._reconstruct'),
        _resolve('numpy._core.multiarray.scalar'),
        _resolve('numpy.core.multiarray.scalar'),
    ]
    # the dtype classes of the numeric dtypes mmengine logs (np.dtypes.*DType)
    for name in ('float16', 'float32', 'float64', 'int8', 'int16', 'int32',
                 'int64', 'uint8', 'bool_'):
        found.append(type(np.dtype(getattr(np, name))))
    unique = []
    for obj in found:
        if obj is not None and obj not in unique:
            unique.append(obj)
    return unique


def allow_mmengine_checkpoints() -> None:
    """Allow-list :func:`mmengine_checkpoint_globals` for ``torch.load``.

    Safe to call more than once; does nothing on a torch without
    ``torch.serialization.add_safe_globals`` (< 2.4), where ``weights_only``
    is not the default anyway.
    """
    import torch.serialization as ser
    if hasattr(ser, 'add_safe_globals'):
        ser.add_safe_globals(mmengine_checkpoint_globals())
