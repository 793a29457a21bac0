# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The Gradient Centralization operator Φ_GC (Yong et al., ECCV 2020, eq. 1).

For a weight ``W`` whose output channel ``i`` has the weight vector ``w_i``
(its whole fan-in: input channels × kernel positions), GC maps the gradient
``g_i`` of that vector to ``g_i - mean(g_i)``: the orthogonal projection onto
the hyperplane of zero-mean vectors.

Where the entries of ``w_i`` lie in the tensor depends on the layer:

* Linear ``(out, in)`` and convolutions ``(out, in/groups, *kernel)``:
  output channel ``i`` is the slice ``W[i]``.
* Transposed convolutions ``(in, out/groups, *kernel)``: the output channel
  ``j`` of group ``k`` is ``W[k*in/groups:(k+1)*in/groups, j]``.

A :class:`ChannelLayout` says which dimensions hold one output channel's
fan-in; it is derived once per weight (see :mod:`gc_mmdet.core.selection`) so
that each step only runs the reductions.
"""

from dataclasses import dataclass, field
from typing import Any, Optional, Tuple

import torch
import torch.distributed as dist
from torch import Tensor

__all__ = ['ChannelLayout', 'channel_mean', 'centralize_', 'RowMean']


@dataclass(frozen=True)
class ChannelLayout:
    """Where one output channel's weight vector lies in a weight tensor.

    Args:
        reduce_dims: dimensions to average over (after splitting dim 0 into
            ``(groups, -1)`` when ``groups > 1``).
        groups: split dim 0 into ``groups`` blocks first (grouped transposed
            convolutions); 1 means no split.
        group: the process group over which a reduced dimension is sharded
            (a transposed convolution under FSDP2, see
            :mod:`gc_mmdet.core.sharded`): channel sums are all-reduced over
            it and divided by ``fan_in_total``. None: the tensor holds whole
            channels.
        fan_in_total: the entries of one channel over all shards.
    """

    reduce_dims: Tuple[int, ...]
    groups: int = 1
    group: Any = field(default=None, compare=False)
    fan_in_total: int = 0

    @classmethod
    def output_first(cls, ndim: int) -> 'ChannelLayout':
        """Layout of Linear / convolution weights: one row per output channel.

        This is also the reference implementation's rule for every tensor it
        centralizes (mean over all dims but dim 0).
        """
        if ndim < 2:
            raise ValueError(f'GC needs a weight with ndim >= 2, got ndim={ndim}')
        return cls(tuple(range(1, ndim)))

    @classmethod
    def transposed(cls, ndim: int, groups: int = 1) -> 'ChannelLayout':
        """Layout of ConvTranspose weights ``(in, out/groups, *kernel)``."""
        if ndim < 3:
            raise ValueError(f'a transposed convolution weight has ndim >= 3, got {ndim}')
        if groups == 1:
            return cls((0,) + tuple(range(2, ndim)))
        # after unflatten: (groups, in/groups, out/groups, *kernel)
        return cls((1,) + tuple(range(3, ndim + 1)), groups)

    def view(self, tensor: Tensor) -> Tensor:
        """A view of ``tensor`` in which :attr:`reduce_dims` apply."""
        if self.groups == 1:
            return tensor
        return tensor.unflatten(0, (self.groups, -1))

    def fan_in(self, shape: torch.Size) -> int:
        """Number of entries in one output channel's weight vector."""
        if self.groups != 1:
            shape = (self.groups, shape[0] // self.groups) + tuple(shape[1:])
        n = 1
        for d in self.reduce_dims:
            n *= shape[d]
        return n


def channel_mean(tensor: Tensor, layout: ChannelLayout) -> Tensor:
    """Mean of each output channel's vector, shaped to broadcast on
    ``layout.view(tensor)``; for a channel sharded over ``layout.group``,
    the mean over all shards (one all-reduce of the channel sums)."""
    if layout.group is None:
        return layout.view(tensor).mean(layout.reduce_dims, keepdim=True)
    sums = layout.view(tensor).sum(layout.reduce_dims, keepdim=True)
    dist.all_reduce(sums, group=layout.group)
    return sums.div_(layout.fan_in_total)


def centralize_(
    grad: Tensor,
    layout: Optional[ChannelLayout] = None,
    weight: Optional[Tensor] = None,
    weight_decay: float = 0.0,
) -> Tensor:
    """Apply Φ_GC to ``grad`` in place and return it.

    With ``weight`` and a non-zero ``weight_decay`` λ, the result is the one
    the reference SGD_GC feeds to the optimizer when weight decay is coupled:
    ``Φ(g + λw) - λw``, i.e. ``g - mean(g + λw)`` per output channel, so that
    an optimizer that then adds ``λw`` itself sees exactly ``Φ(g + λw)``.

    Args:
        grad: the gradient (or any tensor) of a weight.
        layout: where the output channels lie; defaults to
            :meth:`ChannelLayout.output_first`.
        weight: the weight, needed only with ``weight_decay``.
        weight_decay: coupled weight-decay coefficient λ.
    """
    if layout is None:
        layout = ChannelLayout.output_first(grad.dim())
    g = layout.view(grad)
    mean = channel_mean(grad, layout)
    if weight_decay != 0 and weight is not None:
        mean.add_(channel_mean(weight, layout).to(mean.dtype), alpha=weight_decay)
    g.sub_(mean)
    return grad


class RowMean:
    """Per-output-channel mean of an output-first weight, as one GEMV.

    For a contiguous ``(out, ...)`` tensor viewed as ``(out, K)``,
    ``X @ (1/K)`` reads the tensor once and is faster on CPU than
    ``mean(dims)``. The ``1/K`` vector is shared by all weights of the same
    fan-in, dtype and device. Anything else falls back to :func:`channel_mean`.
    """

    def __init__(self) -> None:
        self._vectors = {}

    def vector(self, fan_in: int, like: Tensor) -> Tensor:
        key = (fan_in, like.dtype, like.device)
        v = self._vectors.get(key)
        if v is None:
            v = self._vectors[key] = torch.full(
                (fan_in,), 1.0 / fan_in, dtype=like.dtype, device=like.device
            )
        return v

    def centralize_(self, grad: Tensor, layout: ChannelLayout) -> Tensor:
        """:func:`centralize_` without weight decay, through a GEMV when the
        layout and memory allow it."""
        if (
            layout.groups == 1
            and layout.reduce_dims == tuple(range(1, grad.dim()))
            and grad.is_contiguous()
            and grad.dtype in (torch.float32, torch.float64)
        ):
            if grad.numel() == 0:  # a shard that holds no channel (FSDP2)
                return grad
            rows = grad.view(grad.shape[0], -1)
            rows.sub_(torch.mv(rows, self.vector(rows.shape[1], rows)).unsqueeze(1))
            return grad
        return centralize_(grad, layout)
