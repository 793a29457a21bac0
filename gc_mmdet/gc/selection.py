# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Which weights get Gradient Centralization, and how each one is laid out.

Everything here runs once, when GC is attached; a training step only reads
the resulting :class:`GCTarget` list.
"""
import functools
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Set, Tuple

import torch
from torch import Tensor, nn

from .centralize import ChannelLayout

__all__ = [
    'GCTarget', 'GCSelection', 'GCFanInOneWarning', 'select_targets',
    'LAYERS', 'LAYOUTS'
]

#: allowed values of ``gc_cfg.layers``
LAYERS = ('conv_fc', 'conv')
#: allowed values of ``gc_cfg.layout``
LAYOUTS = ('paper', 'reference')


class GCFanInOneWarning(UserWarning):
    """A weight whose output channels have a single input: GC would set its
    gradient to zero for ever, so it is skipped."""


@dataclass(frozen=True)
class GCTarget:
    """One weight that GC acts on."""

    name: str
    param: nn.Parameter
    layout: ChannelLayout
    kind: str  # 'conv', 'conv_transpose', 'linear' or 'other' (reference layout)


@dataclass
class GCSelection:
    """The result of :func:`select_targets`: targets plus a summary."""

    targets: List[GCTarget] = field(default_factory=list)
    #: reason -> names of the parameters skipped for it
    skipped: Dict[str, List[str]] = field(default_factory=dict)

    def skip(self, reason: str, name: str) -> None:
        self.skipped.setdefault(reason, []).append(name)

    def summary(self) -> str:
        """A short human-readable report of what GC acts on."""
        tensors = Counter(t.kind for t in self.targets)
        numels = Counter()
        for t in self.targets:
            numels[t.kind] += t.param.numel()
        total = sum(numels.values())
        kinds = ', '.join(f'{k}: {tensors[k]} tensors / {numels[k]:,} params'
                          for k in sorted(tensors))
        lines = [
            f'Gradient Centralization on {len(self.targets)} tensors '
            f'({total:,} parameters)' + (f' [{kinds}]' if kinds else '')
        ]
        if self.skipped:
            skipped = sum(len(v) for v in self.skipped.values())
            lines.append(f'  skipped {skipped} tensors: ' + '; '.join(
                f'{len(v)} {reason}' for reason, v in self.skipped.items()))
        return '\n'.join(lines)


@functools.lru_cache(maxsize=None)
def _deform_conv_types() -> Tuple[type, ...]:
    """mmcv's deformable convolutions, when mmcv's compiled ops import."""
    try:
        from mmcv.ops import DeformConv2d, ModulatedDeformConv2d
    except Exception:  # mmcv-lite or no mmcv: nothing to recognise
        return ()
    return (DeformConv2d, ModulatedDeformConv2d)


def _module_kind(module: nn.Module) -> Optional[str]:
    if isinstance(module, nn.modules.conv._ConvNd):
        return 'conv_transpose' if module.transposed else 'conv'
    if isinstance(module, _deform_conv_types()):
        return 'conv'
    if isinstance(module, nn.Linear):
        return 'linear'
    return None


def _is_unshaped(param: Tensor) -> bool:
    """Flattened or sharded parameters whose shape is not the layer's."""
    cls = type(param)
    return (getattr(param, '_is_flat_param', False)
            or cls.__name__ in ('FlatParameter', 'DTensor')
            or any(c.__name__ == 'DTensor' for c in cls.__mro__))


def _expected_shape(module: nn.Module, kind: str) -> Tuple[int, ...]:
    if kind == 'linear':
        return (module.out_features, module.in_features)
    ks = module.kernel_size
    ks = tuple(ks) if isinstance(ks, (tuple, list)) else (ks, ) * 2
    groups = getattr(module, 'groups', 1)
    if kind == 'conv_transpose':
        return (module.in_channels, module.out_channels // groups) + ks
    return (module.out_channels, module.in_channels // groups) + ks


def _cannot_interpret(name: str, param: Tensor, module: nn.Module,
                      expected: Optional[Tuple[int, ...]]) -> ValueError:
    what = (f'a {type(module).__name__} weight of shape {expected} is expected'
            if expected else 'an unsharded tensor is expected')
    return ValueError(
        f'Gradient Centralization cannot interpret parameter {name!r} of '
        f'shape {tuple(param.shape)} ({type(param).__name__}): {what}. '
        'Flattened or sharded parameters (e.g. FSDP flat parameters) are '
        'not supported; attach GC to the unsharded model, or exclude the '
        "parameter with paramwise_cfg.custom_keys={...: dict(gc=False)}.")


def _paper_layout(name: str, module: nn.Module, kind: str,
                  param: Tensor) -> ChannelLayout:
    expected = _expected_shape(module, kind)
    if _is_unshaped(param) or tuple(param.shape) != expected:
        raise _cannot_interpret(name, param, module, expected)
    if kind == 'conv_transpose':
        return ChannelLayout.transposed(param.dim(), module.groups)
    return ChannelLayout.output_first(param.dim())


def select_targets(model: nn.Module,
                   params: Iterable[Tensor],
                   layers: str = 'conv_fc',
                   layout: str = 'paper',
                   exclude: Iterable[Tensor] = ()) -> GCSelection:
    """Choose the weights GC acts on.

    Args:
        model: the model whose parameters are optimized (unwrapped or with a
            ``.module`` attribute such as DDP's).
        params: the parameters the optimizer updates; others are skipped.
        layers: ``'conv_fc'`` (convolutions and fully-connected layers, the
            reference SGD_GC) or ``'conv'`` (convolutions only, SGD_GCC).
        layout: ``'paper'``: the ``weight`` of every conv / deformable conv /
            transposed conv / Linear module, centralized per output channel.
            ``'reference'``: the reference code's rule: every optimized tensor
            with ``ndim > 1`` (``conv_fc``) or ``ndim > 3`` (``conv``),
            centralized over all dims but dim 0.
        exclude: parameters to leave alone (``gc=False``).

    Returns:
        GCSelection: the targets, in ``model.named_parameters()`` order.

    Raises:
        ValueError: on an unknown ``layers``/``layout`` or a parameter whose
            shape GC cannot interpret.
    """
    if layers not in LAYERS:
        raise ValueError(f'gc_cfg.layers must be one of {LAYERS}, got {layers!r}')
    if layout not in LAYOUTS:
        raise ValueError(f'gc_cfg.layout must be one of {LAYOUTS}, got {layout!r}')
    if hasattr(model, 'module') and isinstance(model.module, nn.Module):
        model = model.module
    optimized: Set[int] = {id(p) for p in params}
    excluded: Set[int] = {id(p) for p in exclude}

    # the module and attribute each parameter belongs to (first owner wins)
    owner: Dict[int, Tuple[nn.Module, str]] = {}
    for module in model.modules():
        for attr, p in module.named_parameters(recurse=False):
            owner.setdefault(id(p), (module, attr))

    sel = GCSelection()
    for name, p in model.named_parameters():
        module, attr = owner[id(p)]
        kind = _module_kind(module) if attr == 'weight' else None
        if id(p) not in optimized:
            sel.skip('not optimized', name)
            continue
        if not p.requires_grad:
            sel.skip('frozen', name)
            continue
        if layout == 'reference':
            min_ndim = 2 if layers == 'conv_fc' else 4
            if _is_unshaped(p):
                raise _cannot_interpret(name, p, module, None)
            if p.dim() < min_ndim:
                sel.skip(f'ndim < {min_ndim}', name)
                continue
            ch_layout = ChannelLayout.output_first(p.dim())
            kind = kind or 'other'
        else:
            if kind is None:
                sel.skip('not a conv/fc weight', name)
                continue
            if layers == 'conv' and kind == 'linear':
                sel.skip('fc (layers=conv)', name)
                continue
            ch_layout = _paper_layout(name, module, kind, p)
        if id(p) in excluded:
            sel.skip('gc=False', name)
            continue
        if ch_layout.fan_in(p.shape) == 1:
            warnings.warn(
                f'Gradient Centralization skips {name!r} (shape '
                f'{tuple(p.shape)}): each output channel has fan-in 1, so GC '
                'would zero its gradient for ever.', GCFanInOneWarning,
                stacklevel=3)
            sel.skip('fan-in 1', name)
            continue
        sel.targets.append(GCTarget(name, p, ch_layout, kind))
    return sel
