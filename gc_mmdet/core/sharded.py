# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""GC on parameters sharded by torch's FSDP2 (``fully_shard``).

FSDP2 turns every parameter into a ``DTensor`` sharded on dim 0 (``Shard(0)``)
over its mesh. For a convolution or linear weight dim 0 holds the output
channels, so each rank holds whole channels and Φ_GC is exact on the local
rows, with no communication (an uneven split leaves a rank fewer rows, or
none). A transposed convolution's output channel spans dim 0 (its input
channels): each rank sums its part of every channel and the few floats per
channel are all-reduced over the shard's process group. Any other placement
is refused: GC could not tell which entries form a channel.

Example:
    >>> fully_shard(model, mesh=init_device_mesh('cuda', (world_size,)))
    >>> handle = gc_mmdet.attach(optimizer, model)  # after fully_shard
"""

from typing import Any, Optional

from torch import Tensor

__all__ = ['is_dtensor', 'local', 'shard_group']


def is_dtensor(t: Tensor) -> bool:
    """Whether ``t`` is a ``torch.distributed.tensor.DTensor`` (by class
    name: torch 2.1 has no public DTensor, and the core imports nothing it
    does not need)."""
    return any(c.__name__ == 'DTensor' for c in type(t).__mro__)


def local(t: Optional[Tensor]) -> Optional[Tensor]:
    """This rank's part of a DTensor (sharing its storage under
    ``torch.no_grad``), or ``t`` itself."""
    return t.to_local() if t is not None and is_dtensor(t) else t


def shard_group(name: str, param: Tensor, transposed: bool, groups: int = 1) -> Optional[Any]:
    """The process group over which dim 0 of a sharded weight is split, for
    the all-reduce of a transposed convolution's channel sums; None when every
    rank holds whole output channels (or the weight is not sharded).

    Raises:
        ValueError: a placement other than ``Shard(0)`` on one mesh dimension
            (``Replicate()`` on the others), or a grouped transposed
            convolution sharded on dim 0.
    """
    if not is_dtensor(param):
        return None
    placements = tuple(param.placements)
    shards = [(i, p) for i, p in enumerate(placements) if type(p).__name__ != 'Replicate']
    ok = len(shards) == 1 and type(shards[0][1]).__name__ == 'Shard' and shards[0][1].dim == 0
    if not ok:
        raise ValueError(
            f'Gradient Centralization cannot act on parameter {name!r}: it is sharded as '
            f'{placements}, and GC needs whole output channels on dim 0 (Shard(0) on one mesh '
            "dimension, FSDP2's default); drop fully_shard's shard_placement_fn for it, or "
            'exclude it with paramwise_cfg.custom_keys={...: dict(gc=False)}'
        )
    if not transposed:
        return None
    if groups != 1:
        raise ValueError(
            f'Gradient Centralization cannot act on parameter {name!r}: a grouped transposed '
            f'convolution (groups={groups}) sharded on dim 0 splits its channel groups across '
            'ranks; exclude it with paramwise_cfg.custom_keys={...: dict(gc=False)}'
        )
    return param.device_mesh.get_group(shards[0][0])
