# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Attach Gradient Centralization to any ``torch.optim.Optimizer``.

GC runs inside the optimizer's public step hooks
(:meth:`~torch.optim.Optimizer.register_step_pre_hook` and
:meth:`~torch.optim.Optimizer.register_step_post_hook`), so it composes with
whatever calls ``optimizer.step()``: mmengine's OptimWrapper (after
``clip_grad``, once per accumulated step), ``torch.amp.GradScaler`` (after
unscaling; a step skipped for inf/NaN never reaches the hooks) and DDP (after
the all-reduce, which finishes in ``backward``).

Two locations, as in the reference implementation:

* ``'grad'``: before the step, the gradient becomes ``Φ(g)``, or with coupled
  weight decay λ (SGD, Adam, ... ``weight_decay``) the optimizer works on
  ``Φ(g + λw)`` exactly as the reference SGD_GC does (see :class:`GCHandle`).
* ``'update'``: the step's whole update ``Δ = w_after - w_before`` is
  replaced by ``Φ(Δ)``. Since ``Φ(Δ) = Δ - mean(Δ)`` per output channel, only
  the channel means of the weight before the step are kept (a few floats per
  channel, released after the step), for any optimizer, AdamW included.
"""

import weakref
from collections import OrderedDict, defaultdict
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import torch
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.utils.hooks import RemovableHandle

from .centralize import ChannelLayout, RowMean, centralize_, channel_mean
from .selection import GCSelection, GCTarget, select_targets
from .sharded import local

__all__ = ['attach', 'GCHandle', 'GCNotSteppingError', 'LOCATIONS', 'WEIGHT_DECAY_MODES']

#: allowed values of :func:`attach`'s ``location``
LOCATIONS = ('grad', 'update')
#: allowed values of :func:`attach`'s ``weight_decay_mode``
WEIGHT_DECAY_MODES = ('auto', 'coupled', 'decoupled')

# torch optimizers whose ``weight_decay`` is added to the gradient (unless the
# group sets ``decoupled_weight_decay=True``, as AdamW does).
_COUPLED = (
    'SGD',
    'Adam',
    'NAdam',
    'RAdam',
    'Adagrad',
    'RMSprop',
    'Adamax',
    'ASGD',
    'Adadelta',
    'SparseAdam',
)
_DECOUPLED = ('AdamW', 'Muon', 'Lion')
#: optimizers that rescale the gradient per element, for which GC belongs on
#: the update (``location='update'``)
ADAPTIVE_OPTIMIZERS = (
    'Adam',
    'AdamW',
    'NAdam',
    'RAdam',
    'Adamax',
    'Adagrad',
    'RMSprop',
    'Adadelta',
    'Lion',
)


class GCNotSteppingError(RuntimeError):
    """The optimizer GC hooked no longer steps the weights GC selected, so GC
    would be silently off (a wrapper re-pointed its parameter groups after
    :func:`attach`, as DeepSpeed ZeRO stages 1 and 2 do)."""


def _shapes(params: List[Tensor], limit: int = 3) -> str:
    shown = ', '.join(str(tuple(p.shape)) for p in params[:limit])
    return shown + (', ...' if len(params) > limit else '')


def _stepping_optimizer(optimizer: Optimizer) -> Optimizer:
    """The optimizer whose update rule applies: for a wrapper that builds a
    local optimizer (``ZeroRedundancyOptimizer``, whose ``optim`` is the
    ``optimizer_class`` instance over this rank's shard) that one."""
    inner = getattr(optimizer, 'optim', None)
    return inner if isinstance(inner, Optimizer) else optimizer


def _pending_scale(optimizer: Optimizer, kwargs: dict) -> Optional[Any]:
    """The loss scale the gradients still carry when ``step`` starts, or None.

    ``torch.amp.GradScaler.step`` does not unscale the gradients of an
    optimizer with ``_step_supports_amp_scaling`` (SGD, Adam, AdamW with
    ``fused=True``): it sets ``optimizer.grad_scale`` and ``optimizer.found_inf``
    for the duration of ``step`` and the fused kernel unscales (and skips the
    step when ``found_inf``). After a ``GradScaler.unscale_`` (mmengine's
    AmpOptimWrapper with ``clip_grad``) ``grad_scale`` is None: unscaled.
    """
    scale = getattr(optimizer, 'grad_scale', None)
    return kwargs.get('grad_scale') if scale is None else scale


def _decay_is_coupled(optimizer: Optimizer, group: Dict[str, Any], mode: str) -> bool:
    """Whether ``group['weight_decay']`` is added to the gradient."""
    if not group.get('weight_decay'):
        return False
    if mode != 'auto':
        return mode == 'coupled'
    if group.get('decoupled_weight_decay', False):
        return False
    names = [c.__name__ for c in type(_stepping_optimizer(optimizer)).__mro__]
    for name in names:  # the most derived known class decides
        if name in _DECOUPLED:
            return False
        if name in _COUPLED:
            return True
    raise ValueError(
        f'weight_decay_mode: cannot tell whether '
        f'{type(optimizer).__name__} adds weight_decay to the gradient '
        '(coupled) or to the weight (decoupled). Set weight_decay_mode '
        f"to one of {WEIGHT_DECAY_MODES[1:]}, or use location='update'."
    )


class _GroupPlan:
    """What GC does to one parameter group, derived once at attach time.

    The group is referred to by its index: ``optimizer.load_state_dict``
    (mmengine's ``--resume``) replaces the group dicts, not the parameters.
    """

    __slots__ = ('index', 'coupled', 'targets', 'others')

    def __init__(
        self,
        index: int,
        group: Dict[str, Any],
        coupled: bool,
        targets: List[Tuple[Tensor, ChannelLayout]],
    ) -> None:
        self.index = index
        self.coupled = coupled  # weight_decay is added to the gradient
        self.targets = targets  # (weight, layout) that GC acts on
        ids = {id(p) for p, _ in targets}
        self.others = [p for p in group['params'] if id(p) not in ids]


class GCHandle:
    """GC attached to an optimizer; :meth:`remove` detaches it.

    With ``location='grad'`` and coupled weight decay λ, the step pre-hook
    folds the decay into the gradient (``g + λw`` for every parameter of the
    group, then Φ on the GC weights) and sets the group's ``weight_decay`` to
    0 for the duration of the step; the step post-hook restores it. The
    optimizer then sees exactly Φ(g + λw), the reference SGD_GC's input,
    and the weight is read once instead of twice. A fused optimizer driven
    by ``GradScaler`` gets still-scaled gradients and the scale as the
    attribute ``optimizer.grad_scale``: then the gradient becomes
    ``g_s - mean(g_s + s·λw)`` and the kernel, after unscaling by ``s`` and
    adding ``λw``, works on the same ``Φ(g + λw)``; a step the kernel skips
    for ``found_inf`` leaves weights and state as they were.

    Attributes:
        selection: which weights GC acts on and which it skipped.
        location: ``'grad'`` or ``'update'``.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        selection: GCSelection,
        location: str,
        weight_decay_mode: str,
        model: Optional[nn.Module] = None,
    ) -> None:
        self.optimizer = optimizer
        # checked at the first step: the model still holds the selected weights
        self._model = weakref.ref(model) if model is not None else None
        self.selection = selection
        self.location = location
        group_of = {id(p): i for i, g in enumerate(optimizer.param_groups) for p in g['params']}
        by_group: Dict[int, List[Tuple[Tensor, ChannelLayout]]] = defaultdict(list)
        for t in selection.targets:
            by_group[group_of[id(t.param)]].append((t.param, t.layout))
        self._plan: List[_GroupPlan] = []
        for i, group in enumerate(optimizer.param_groups):
            coupled = location == 'grad' and _decay_is_coupled(optimizer, group, weight_decay_mode)
            if by_group.get(i) or coupled:
                self._plan.append(_GroupPlan(i, group, coupled, by_group.get(i, [])))
        # the params list of each planned group, as GC found it: a resume
        # (load_state_dict) keeps these lists, a wrapper that re-points the
        # optimizer replaces them
        self._params_lists = [optimizer.param_groups[p.index]['params'] for p in self._plan]
        self._row_mean = RowMean()
        self._before: Optional[List[Optional[Tensor]]] = None
        self._folded: List[Tuple[int, Any]] = []
        self._observers: Dict[int, Callable[['GCHandle'], None]] = OrderedDict()
        if location == 'grad':
            self._hooks = [
                optimizer.register_step_pre_hook(self._centralize_grads),
                optimizer.register_step_post_hook(self._restore_decay),
            ]
        else:
            self._hooks = [
                optimizer.register_step_pre_hook(self._remember_means),
                optimizer.register_step_post_hook(self._centralize_update),
            ]

    @property
    def targets(self) -> List[GCTarget]:
        return self.selection.targets

    def summary(self) -> str:
        return self.selection.summary()

    def register_observer(self, fn: Callable[['GCHandle'], None]) -> RemovableHandle:
        """Call ``fn(handle)`` at the start of every optimizer step, while
        the gradients are final (clipped, unscaled, all-reduced) and before GC
        touches anything. Used by :class:`gc_mmdet.engine.hooks.GCStatsHook`; an
        observer must not modify gradients or weights.
        """
        handle = RemovableHandle(self._observers)
        self._observers[handle.id] = fn
        return handle

    def _notify(self) -> None:
        for fn in list(self._observers.values()):
            fn(self)

    def remove(self) -> None:
        """Detach GC from the optimizer."""
        self._restore_decay()
        for h in self._hooks:
            h.remove()
        self._hooks = []
        self._before = None

    # ----------------------------------------------------------- step hooks
    def _check_stepping(self, optimizer: Optimizer) -> None:
        """Stop with :class:`GCNotSteppingError` when the optimizer's groups no
        longer hold the weights GC selected; a list identity check per group
        in the usual case."""
        if self._model is not None:
            self._check_model(self._model())
            self._model = None
        groups = optimizer.param_groups
        for k, plan in enumerate(self._plan):
            if plan.index < len(groups) and groups[plan.index]['params'] is self._params_lists[k]:
                continue
            now = groups[plan.index]['params'] if plan.index < len(groups) else []
            held = {id(p) for p in now}
            lost = [p for p, _ in plan.targets if id(p) not in held]
            if plan.index >= len(groups) or lost:
                raise GCNotSteppingError(
                    f'Gradient Centralization is attached to {len(plan.targets)} weight(s) of '
                    f'param group {plan.index}, but {type(optimizer).__name__} now steps '
                    f'{len(now)} other tensor(s) there ({_shapes(now) or "none"}): something '
                    're-pointed the optimizer after GC was attached (DeepSpeed ZeRO stages 1 and '
                    '2 step flattened fp32 partitions), so GC would be silently off. Attach GC '
                    "to the optimizer that steps the model's own weights (DDP, ZeRO stage 0, "
                    "FSDP2, torch's ZeroRedundancyOptimizer); see docs/any_detector.md"
                )
            self._params_lists[k] = now  # the same weights in a new list

    def _check_model(self, model: Optional[nn.Module]) -> None:
        """The model's parameters are still the tensors GC selected (FSDP2's
        ``fully_shard`` after :func:`attach` replaces them with DTensors)."""
        if model is None:
            return
        current = dict(model.named_parameters())
        for t in self.selection.targets:
            if t.name in current and current[t.name] is not t.param:
                raise GCNotSteppingError(
                    f'Gradient Centralization was attached to {t.name!r} of shape '
                    f'{tuple(t.param.shape)}, but the model now holds another tensor there '
                    f'({type(current[t.name]).__name__}): its parameters were replaced after GC '
                    'was attached (e.g. by fully_shard). Shard the model first, then build the '
                    'optimizer and attach GC'
                )

    @torch.no_grad()
    def _centralize_grads(self, optimizer: Optimizer, args: tuple, kwargs: dict) -> None:
        self._restore_decay()  # in case the previous step raised
        self._check_stepping(optimizer)
        self._notify()
        # A fused optimizer driven by GradScaler receives still-scaled
        # gradients (see _pending_scale); Φ is linear, only λw needs scaling,
        # and the kernel adds λw itself after unscaling.
        scale = _pending_scale(optimizer, kwargs)
        groups = optimizer.param_groups
        for plan in self._plan:
            group = groups[plan.index]
            wd = group['weight_decay'] if plan.coupled else 0.0
            if wd and scale is None:
                self._folded.append((plan.index, wd))
                group['weight_decay'] = 0.0
                for p in plan.others:
                    if p.grad is not None:
                        local(p.grad).add_(local(p), alpha=wd)
                for p, layout in plan.targets:
                    if p.grad is not None:
                        self._row_mean.centralize_(local(p.grad).add_(local(p), alpha=wd), layout)
            elif wd:
                for p, layout in plan.targets:
                    if p.grad is not None:
                        centralize_(local(p.grad), layout, local(p), wd * float(scale))
            else:
                for p, layout in plan.targets:
                    if p.grad is not None:
                        self._row_mean.centralize_(local(p.grad), layout)

    def _restore_decay(self, *args: Any) -> None:
        while self._folded:
            index, wd = self._folded.pop()
            group = self.optimizer.param_groups[index]
            if group['weight_decay'] == 0.0:  # still as the pre-hook left it
                group['weight_decay'] = wd

    @torch.no_grad()
    def _remember_means(self, optimizer: Optimizer, args: tuple, kwargs: dict) -> None:
        self._check_stepping(optimizer)
        self._notify()
        self._before = [
            channel_mean(local(p), layout) if p.grad is not None else None
            for plan in self._plan
            for p, layout in plan.targets
        ]

    @torch.no_grad()
    def _centralize_update(self, optimizer: Optimizer, args: tuple, kwargs: dict) -> None:
        before, self._before = self._before, None
        if before is None:
            return
        means = iter(before)
        for plan in self._plan:
            for p, layout in plan.targets:
                m0 = next(means)
                if m0 is not None:
                    # w <- w_before + Φ(w - w_before) = w - (mean(w) - mean(w_before))
                    w = local(p)
                    layout.view(w).sub_(channel_mean(w, layout).sub_(m0))


def attach(
    optimizer: Optimizer,
    model: nn.Module,
    layers: str = 'conv_fc',
    location: str = 'grad',
    layout: str = 'paper',
    weight_decay_mode: str = 'auto',
    exclude: Iterable[Tensor] = (),
) -> GCHandle:
    """Add Gradient Centralization to ``optimizer`` for ``model``'s weights.

    Example:
        >>> model = torchvision.models.resnet18()
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9,
        ...                       weight_decay=1e-4)
        >>> handle = gc_mmdet.attach(opt, model)
        >>> print(handle.summary())
        >>> handle.remove()  # back to plain SGD

    Args:
        optimizer: any torch optimizer over (some of) ``model``'s parameters.
        model: the model (a DDP-style wrapper with ``.module`` is unwrapped).
        layers: ``'conv_fc'`` or ``'conv'``.
        location: ``'grad'`` or ``'update'`` (see the module docstring).
        layout: ``'paper'`` or ``'reference'``
            (see :func:`~gc_mmdet.core.selection.select_targets`).
        weight_decay_mode: ``'auto'`` (know torch's optimizers), ``'coupled'``
            or ``'decoupled'``: how the optimizer applies ``weight_decay``;
            used with ``location='grad'`` only.
        exclude: parameters to leave alone, as are those of a parameter group
            with ``gc=False``.

    Returns:
        GCHandle: call ``.remove()`` to detach.
    """
    if location not in LOCATIONS:
        raise ValueError(f'location must be one of {LOCATIONS}, got {location!r}')
    if weight_decay_mode not in WEIGHT_DECAY_MODES:
        raise ValueError(
            f'weight_decay_mode must be one of {WEIGHT_DECAY_MODES}, got {weight_decay_mode!r}'
        )
    params, exclude = [], list(exclude)
    for i, group in enumerate(optimizer.param_groups):
        flag = group.get('gc', True)
        if not isinstance(flag, bool):
            raise TypeError(f'param group {i}: gc must be True or False, got {flag!r}')
        params.extend(group['params'])
        if not flag:
            exclude.extend(group['params'])
    selection = select_targets(model, params, layers, layout, exclude)
    if hasattr(model, 'module') and isinstance(model.module, nn.Module):
        model = model.module  # as select_targets names the parameters
    return GCHandle(optimizer, selection, location, weight_decay_mode, model)
