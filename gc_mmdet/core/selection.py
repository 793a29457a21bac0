# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Which weights get Gradient Centralization, and how each one is laid out.

Everything here runs once, when GC is attached; a training step only reads
the resulting :class:`GCTarget` list.
"""

import warnings
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, Iterable, List, Optional, Set, Tuple

from torch import Tensor, nn

from .centralize import ChannelLayout
from .sharded import shard_group

__all__ = [
    'GCTarget',
    'register_conv_types',
    'GCSelection',
    'GCFanInOneWarning',
    'select_targets',
    'LAYERS',
    'LAYOUTS',
    'SKIP_1D',
    'SKIP_EMBEDDING',
    'SKIP_POSITIONAL',
    'SKIP_OTHER',
]

#: allowed values of ``layers``
LAYERS = ('conv_fc', 'conv')
#: allowed values of ``layout``
LAYOUTS = ('paper', 'reference')

#: Why the paper layout leaves an optimized, trainable parameter alone.
SKIP_1D = 'bias or norm (1-D)'
SKIP_EMBEDDING = 'embedding table'
SKIP_POSITIONAL = 'positional/level embedding'
SKIP_OTHER = 'other >= 2-D weight (not a known layer)'

# nn.MultiheadAttention's own projection weights: fully-connected weights
# with one row per output unit, held by the attention module itself.
_ATTENTION_WEIGHTS = ('in_proj_weight', 'q_proj_weight', 'k_proj_weight', 'v_proj_weight')


class GCFanInOneWarning(UserWarning):
    """A weight whose output channels have a single input: GC would set its
    gradient to zero for ever, so it is skipped."""


@dataclass(frozen=True)
class GCTarget:
    """One weight that GC acts on."""

    name: str
    param: nn.Parameter
    layout: ChannelLayout
    # 'conv', 'conv_transpose', 'linear', 'attention' (nn.MultiheadAttention's
    # projections) or 'other' (reference layout)
    kind: str


@dataclass
class GCSelection:
    """The result of :func:`select_targets`: targets plus a summary."""

    targets: List[GCTarget] = field(default_factory=list)
    #: reason -> names of the parameters skipped for it
    skipped: Dict[str, List[str]] = field(default_factory=dict)

    def skip(self, reason: str, name: str) -> None:
        self.skipped.setdefault(reason, []).append(name)

    def counts_by_kind(self) -> Dict[str, Tuple[int, int]]:
        """``{kind: (tensors, parameters)}`` of the covered weights, sorted
        by kind."""
        counts: Dict[str, List[int]] = {}
        for t in self.targets:
            count = counts.setdefault(t.kind, [0, 0])
            count[0] += 1
            count[1] += t.param.numel()
        return {kind: (n, numel) for kind, (n, numel) in sorted(counts.items())}

    def summary(self) -> str:
        """A short human-readable report of what GC acts on."""
        counts = self.counts_by_kind()
        total = sum(numel for _, numel in counts.values())
        kinds = ', '.join(
            f'{k}: {n} tensors / {numel:,} params' for k, (n, numel) in counts.items()
        )
        lines = [
            f'Gradient Centralization on {len(self.targets)} tensors '
            f'({total:,} parameters)' + (f' [{kinds}]' if kinds else '')
        ]
        if self.skipped:
            skipped = sum(len(v) for v in self.skipped.values())
            lines.append(
                f'  skipped {skipped} tensors: '
                + '; '.join(f'{len(v)} {reason}' for reason, v in self.skipped.items())
            )
        if self.skipped.get(SKIP_OTHER):
            # never silently dropped: name every unrecognised weight
            names = self.skipped[SKIP_OTHER]
            lines.append(
                '  not centralized, not a known layer: '
                + ', '.join(names[:8])
                + (f' and {len(names) - 8} more' if len(names) > 8 else '')
            )
        return '\n'.join(lines)


#: functions that return more module types whose ``weight`` is a convolution
#: kernel (output channels first); see :func:`register_conv_types`
_CONV_TYPE_SOURCES: List[Callable[[], Tuple[type, ...]]] = []


def register_conv_types(source: Callable[[], Tuple[type, ...]]) -> None:
    """Let GC treat the module types ``source()`` returns as convolutions.

    ``source`` is called when weights are selected, not here, so that a
    library's layers can be added without importing it: this is how
    :mod:`gc_mmdet.engine` adds mmcv's deformable convolutions while the
    core imports only torch.

    Example:
        >>> register_conv_types(lambda: (MyConv2d,))
    """
    if source not in _CONV_TYPE_SOURCES:
        _CONV_TYPE_SOURCES.append(source)


def _extra_conv_types() -> Tuple[type, ...]:
    return tuple(t for source in _CONV_TYPE_SOURCES for t in source())


def _module_kind(module: nn.Module, attr: str) -> Optional[str]:
    """The kind of layer weight ``module.<attr>`` is, or None."""
    if isinstance(module, nn.MultiheadAttention):
        return 'attention' if attr in _ATTENTION_WEIGHTS else None
    if attr != 'weight':
        return None
    if isinstance(module, nn.modules.conv._ConvNd):
        return 'conv_transpose' if module.transposed else 'conv'
    if isinstance(module, _extra_conv_types()):
        return 'conv'
    if isinstance(module, nn.Linear):
        return 'linear'
    return None


def _skip_reason(module: nn.Module, attr: str, param: Tensor) -> str:
    """Why the paper layout does not centralize a parameter that is not a
    conv / fc / attention-projection weight."""
    if param.dim() < 2:
        return SKIP_1D
    if isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
        return SKIP_EMBEDDING
    if 'embed' in attr.lower():  # e.g. DINO's level_embed, ViT's pos_embed
        return SKIP_POSITIONAL
    return SKIP_OTHER


def _is_unshaped(param: Tensor) -> bool:
    """Flattened parameters whose shape is not the layer's (FSDP1's
    ``FlatParameter``); FSDP2's DTensors keep the layer's global shape."""
    return getattr(param, '_is_flat_param', False) or type(param).__name__ == 'FlatParameter'


def _expected_shape(module: nn.Module, kind: str, attr: str) -> Tuple[int, ...]:
    if kind == 'linear':
        return (module.out_features, module.in_features)
    if kind == 'attention':
        e = module.embed_dim
        return {
            'in_proj_weight': (3 * e, e),
            'q_proj_weight': (e, e),
            'k_proj_weight': (e, module.kdim),
            'v_proj_weight': (e, module.vdim),
        }[attr]
    ks = module.kernel_size
    ks = tuple(ks) if isinstance(ks, (tuple, list)) else (ks,) * 2
    groups = getattr(module, 'groups', 1)
    if kind == 'conv_transpose':
        return (module.in_channels, module.out_channels // groups) + ks
    return (module.out_channels, module.in_channels // groups) + ks


def _cannot_interpret(
    name: str, param: Tensor, module: nn.Module, expected: Optional[Tuple[int, ...]]
) -> ValueError:
    what = (
        f'a {type(module).__name__} weight of shape {expected} is expected'
        if expected
        else 'an unsharded tensor is expected'
    )
    return ValueError(
        f'Gradient Centralization cannot interpret parameter {name!r} of '
        f'shape {tuple(param.shape)} ({type(param).__name__}): {what}. '
        "Flattened parameters (FSDP1's FlatParameter) are not supported: "
        'shard with FSDP2 (torch.distributed.fsdp.fully_shard) or DDP instead, or exclude the '
        'parameter with paramwise_cfg.custom_keys={...: dict(gc=False)}.'
    )


def _channel_layout(
    name: str, module: nn.Module, kind: str, attr: str, param: Tensor, layout: str
) -> ChannelLayout:
    """Where each output channel of ``param`` lies, sharded or not.

    Raises:
        ValueError: a shape or placement GC cannot read (a flattened
            parameter, a shape that is not the layer's, a placement other
            than FSDP2's ``Shard(0)``).
    """
    expected = _expected_shape(module, kind, attr) if layout == 'paper' else None
    if _is_unshaped(param) or (expected is not None and tuple(param.shape) != expected):
        raise _cannot_interpret(name, param, module, expected)
    transposed = layout == 'paper' and kind == 'conv_transpose'
    groups = module.groups if transposed else 1
    group = shard_group(name, param, transposed=transposed, groups=groups)
    if not transposed:
        return ChannelLayout.output_first(param.dim())
    ch_layout = ChannelLayout.transposed(param.dim(), groups)
    if group is None:
        return ch_layout
    return replace(ch_layout, group=group, fan_in_total=ch_layout.fan_in(param.shape))


def _skip_before_layout(
    module: nn.Module, attr: str, param: Tensor, kind: Optional[str], layers: str, layout: str
) -> Optional[str]:
    """Why GC leaves an optimized, trainable parameter alone whatever its
    opt-out, or None when only ``gc=False`` or its layout can still skip it."""
    if layout == 'reference':
        min_ndim = 2 if layers == 'conv_fc' else 4
        # a flattened parameter is refused (unless opted out), not skipped as 1-D
        return f'ndim < {min_ndim}' if param.dim() < min_ndim and not _is_unshaped(param) else None
    if kind is None:
        return _skip_reason(module, attr, param)
    if layers == 'conv' and kind in ('linear', 'attention'):
        return 'fc (layers=conv)'
    return None


def select_targets(
    model: nn.Module,
    params: Iterable[Tensor],
    layers: str = 'conv_fc',
    layout: str = 'paper',
    exclude: Iterable[Tensor] = (),
) -> GCSelection:
    """Choose the weights GC acts on.

    Args:
        model: the model whose parameters are optimized (unwrapped or with a
            ``.module`` attribute such as DDP's).
        params: the parameters the optimizer updates; others are skipped.
        layers: ``'conv_fc'`` (convolutions and fully-connected layers, the
            reference SGD_GC) or ``'conv'`` (convolutions only, SGD_GCC).
        layout: ``'paper'``: the ``weight`` of every conv / deformable conv /
            transposed conv / Linear module and the projection weights of
            every ``nn.MultiheadAttention`` (``in_proj_weight``, or
            ``q/k/v_proj_weight``), centralized per output channel;
            embeddings, biases, norms and positional/level embeddings are
            skipped, and any other >= 2-D weight is skipped and named in the
            summary.
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
        raise ValueError(f'layers must be one of {LAYERS}, got {layers!r}')
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
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
        kind = _module_kind(module, attr)
        if id(p) not in optimized:
            reason = 'not optimized'
        elif not p.requires_grad:
            reason = 'frozen'
        else:
            reason = _skip_before_layout(module, attr, p, kind, layers, layout)
        if reason is None and id(p) in excluded:  # before its layout: gc=False always opts out
            reason = 'gc=False'
        if reason is not None:
            sel.skip(reason, name)
            continue
        kind = kind or 'other'  # the reference layout's other >= 2-D tensors
        ch_layout = _channel_layout(name, module, kind, attr, p, layout)
        if ch_layout.fan_in(p.shape) == 1:
            warnings.warn(
                f'Gradient Centralization skips {name!r} (shape '
                f'{tuple(p.shape)}): each output channel has fan-in 1, so GC '
                'would zero its gradient for ever.',
                GCFanInOneWarning,
                stacklevel=3,
            )
            sel.skip('fan-in 1', name)
            continue
        sel.targets.append(GCTarget(name, p, ch_layout, kind))
    return sel
