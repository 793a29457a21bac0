# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""mmcv's deformable convolutions are convolutions to GC (their ``weight``
is output channels first, like ``nn.Conv2d``'s); this module adds them to
the core's layer kinds, which imports only torch.

Example:
    >>> import gc_mmdet.engine  # DeformConv2d weights are then GC targets
"""

import functools
from typing import Tuple

from ..core.selection import register_conv_types


@functools.lru_cache(maxsize=None)
def mmcv_deform_conv_types() -> Tuple[type, ...]:
    """mmcv's deformable convolutions, when mmcv's compiled ops import."""
    try:
        from mmcv.ops import DeformConv2d, ModulatedDeformConv2d
    except Exception:  # mmcv-lite or no mmcv: nothing to recognise
        return ()
    return (DeformConv2d, ModulatedDeformConv2d)


register_conv_types(mmcv_deform_conv_types)
