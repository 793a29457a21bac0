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

import pickle
from typing import Any, Callable, List, Tuple, Union

__all__ = ['allow_mmengine_checkpoints', 'mmengine_checkpoint_globals']

SafeGlobal = Union[Callable, Tuple[Callable, str]]


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``builtins.getattr`` as mmengine checkpoints use it, and no further.

    ``HistoryBuffer.__getstate__`` stores its statistics methods
    (``HistoryBuffer.min`` ...), which pickle as ``getattr(HistoryBuffer,
    'min')``. Allow-listing the real ``getattr`` would let a checkpoint call
    any method of any allowed object, so only this lookup is allowed.
    """
    from mmengine.logging import HistoryBuffer

    if (
        isinstance(obj, type)
        and issubclass(obj, HistoryBuffer)
        and isinstance(name, str)
        and not name.startswith('_')
        and callable(getattr(obj, name, None))
    ):
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'gc_mmdet refuses getattr({obj!r}, {name!r}) in a checkpoint: only '
        'the statistics methods of mmengine.logging.HistoryBuffer are allowed'
    )


def mmengine_checkpoint_globals() -> List[SafeGlobal]:
    """The non-torch globals pickled in an mmengine 0.10 checkpoint.

    Its ``message_hub`` holds ``HistoryBuffer`` objects (numpy arrays of
    logged scalars, numpy scalars, and the buffer's statistics methods).
    """
    import numpy as np
    from mmengine.logging import HistoryBuffer

    try:  # numpy >= 2 moved numpy.core to numpy._core
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray
    found: List[SafeGlobal] = [
        HistoryBuffer,
        (_history_buffer_getattr, 'builtins.getattr'),
        np.ndarray,
        np.dtype,
    ]
    # numpy rebuilds a dtype, then sets its state: the dtype's own class
    # (numpy.dtypes.Float64DType ...) must be allowed too; logged values are
    # numeric
    for name in (
        'float16',
        'float32',
        'float64',
        'int8',
        'int16',
        'int32',
        'int64',
        'uint8',
        'bool_',
    ):
        found.append(type(np.dtype(getattr(np, name))))
    # checkpoints written under numpy 1.x and 2.x name these differently
    for package in ('numpy._core', 'numpy.core'):
        found.append((multiarray._reconstruct, f'{package}.multiarray._reconstruct'))
        found.append((multiarray.scalar, f'{package}.multiarray.scalar'))
    return found


def allow_mmengine_checkpoints() -> None:
    """Allow-list :func:`mmengine_checkpoint_globals` for ``torch.load``.

    Safe to call more than once; does nothing on a torch without
    ``torch.serialization.add_safe_globals`` (< 2.4), where ``weights_only``
    is not the default anyway.
    """
    import torch.serialization as ser

    if hasattr(ser, 'add_safe_globals'):
        ser.add_safe_globals(mmengine_checkpoint_globals())
