# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""``GCStatsHook``: gradient statistics before and after Φ_GC, as in the
paper's Fig. 4 (L2 norm and max |g| of the first conv and the last fc layer).

.. code-block:: python

    custom_hooks = [dict(type='GCStatsHook', interval=50)]
"""

import math
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapperDict
from mmengine.registry import HOOKS
from mmengine.runner import Runner
from torch.utils.hooks import RemovableHandle

from ...core.centralize import centralize_
from ...core.selection import GCTarget, select_targets
from ..optimizers import gc_handle_of

__all__ = ['GCStatsHook', 'default_layers', 'gradient_stats']

#: the statistics recorded per weight and for the whole set of GC targets
STAT_KEYS = ('grad_norm_before', 'grad_norm_after', 'grad_max_before', 'grad_max_after')
#: prefix of every logged scalar
PREFIX = 'train/gc/'


def default_layers(targets: Sequence[GCTarget]) -> List[str]:
    """The layers the paper's Fig. 4 shows: the first conv and the last fc.

    Falls back to the first target when there is no convolution and to the
    last target when there is no fully-connected layer (e.g. with
    ``gc_cfg.layers='conv'``); a name is listed once.
    """
    if not targets:
        return []
    first = next((t for t in targets if t.kind == 'conv'), targets[0])
    last = next((t for t in reversed(targets) if t.kind == 'linear'), targets[-1])
    return [first.name] if first is last else [first.name, last.name]


@torch.no_grad()
def gradient_stats(targets: Sequence[GCTarget]) -> Dict[str, Tuple[float, float, float, float]]:
    """``name -> (sum of squares before, sum of squares after, max |g|
    before, max |g| after)`` for every target that has a gradient.

    "After" is Φ_GC(g), computed in float32 on a copy without the
    weight-decay term; the real gradients are only read.
    """
    names, rows = [], []
    for t in targets:
        g = t.param.grad
        if g is None:
            continue
        g = g.detach()
        after = centralize_(g.to(torch.float32, copy=True), t.layout)
        before = g.to(torch.float32)  # no copy when g is float32 already
        names.append(t.name)
        rows.append(
            torch.stack(
                [
                    before.square().sum(),
                    after.square().sum(),
                    before.abs().amax(),
                    after.abs().amax(),
                ]
            )
        )
    if not rows:
        return {}
    values = torch.stack(rows).cpu().tolist()  # one device sync
    return {name: tuple(v) for name, v in zip(names, values)}


@HOOKS.register_module()
class GCStatsHook(Hook):
    """Log the gradient's L2 norm and max |g| before and after Φ_GC.

    Every ``interval`` iterations, at the optimizer step (gradients clipped,
    unscaled, all-reduced), it records ``train/gc/grad_{norm,max}_{before,after}``
    over all GC targets and per layer of ``layers`` (e.g.
    ``train/gc/grad_norm_before/conv1.weight``), to every vis backend at the
    step whose gradients they describe. Φ_GC is applied to a float32 copy, so
    training is unchanged. Without GC (a baseline run) it selects the conv / fc
    weights itself, so both runs log comparable numbers. Why it writes to the
    visualizer and not through ``LogProcessor``, and what it costs:
    docs/demo.md, "What GC does".

    Args:
        interval: record every ``interval`` training iterations.
        layers: parameter names of GC targets to record one by one; ``None``
            picks the first conv and the last fc layer
            (:func:`default_layers`), ``[]`` records the totals only.

    Example:
        >>> custom_hooks = [dict(type='GCStatsHook', interval=50)]
    """

    priority = 'BELOW_NORMAL'

    def __init__(self, interval: int = 50, layers: Optional[Sequence[str]] = None) -> None:
        if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
            raise ValueError(f'GCStatsHook: interval must be a positive int, got {interval!r}')
        if isinstance(layers, str):
            layers = [layers]
        self.interval = interval
        self.layers: Optional[List[str]] = None if layers is None else list(layers)
        #: the weights observed and the layers recorded individually, set in
        #: :meth:`before_train`
        self.targets: List[GCTarget] = []
        self.layer_names: List[str] = []
        self.last_stats: Dict[str, float] = {}
        self._armed = False
        self._pending: Dict[str, Tuple[float, float, float, float]] = {}
        self._hooks: List[RemovableHandle] = []

    # ------------------------------------------------------------ set up
    def before_train(self, runner: Runner) -> None:
        self._remove_hooks()
        self.targets = []
        with_gc = False
        wrappers = runner.optim_wrapper
        wrappers = (
            list(wrappers.optim_wrappers.values())
            if isinstance(wrappers, OptimWrapperDict)
            else [wrappers]
        )
        for wrapper in wrappers:
            handle = gc_handle_of(wrapper)
            if handle is not None:  # GC: observe its handle
                with_gc = True
                targets = list(handle.targets)
                self._hooks.append(handle.register_observer(lambda _h, t=targets: self._observe(t)))
            else:  # baseline: same selection GC would make, own pre-hook
                optimizer = wrapper.optimizer
                params = [p for g in optimizer.param_groups for p in g['params']]
                with warnings.catch_warnings():  # GC's fan-in-1 notice
                    warnings.simplefilter('ignore')
                    targets = select_targets(runner.model, params).targets
                self._hooks.append(
                    optimizer.register_step_pre_hook(
                        lambda _opt, _args, _kwargs, t=targets: self._observe(t)
                    )
                )
            self.targets.extend(targets)

        names = [t.name for t in self.targets]
        self.layer_names = (
            default_layers(self.targets) if self.layers is None else list(self.layers)
        )
        unknown = [n for n in self.layer_names if n not in names]
        if unknown:
            self._remove_hooks()
            raise ValueError(
                f'GCStatsHook: layers {unknown} are not among the '
                f'{len(names)} weights it observes; e.g. {names[:5]}'
            )
        runner.logger.info(
            f'GCStatsHook: every {self.interval} iterations, gradient stats '
            f'of {len(names)} weights ('
            f'{"with GC" if with_gc else "no GC: baseline"}), '
            f'layers {self.layer_names}'
        )

    # ------------------------------------------------------------ per step
    def before_train_iter(self, runner: Runner, batch_idx: int, data_batch=None) -> None:
        self._armed = self.every_n_train_iters(runner, self.interval) and is_main_process()
        self._pending = {}

    def _observe(self, targets: Sequence[GCTarget]) -> None:
        if self._armed:
            self._pending.update(gradient_stats(targets))

    def after_train_iter(
        self, runner: Runner, batch_idx: int, data_batch=None, outputs=None
    ) -> None:
        self._armed = False
        pending, self._pending = self._pending, {}
        if not pending:
            return
        stats = self.summarize(pending, self.layer_names)
        self.last_stats = stats
        step = runner.iter + 1
        runner.visualizer.add_scalars({PREFIX + k: v for k, v in stats.items()}, step=step)
        runner.logger.info(
            f'GCStatsHook: iter {step}: grad_norm '
            f'{stats["grad_norm_before"]:.4g} -> '
            f'{stats["grad_norm_after"]:.4g}, grad_max '
            f'{stats["grad_max_before"]:.4g} -> {stats["grad_max_after"]:.4g}'
        )

    @staticmethod
    def summarize(
        per_weight: Dict[str, Tuple[float, float, float, float]], layers: Sequence[str]
    ) -> Dict[str, float]:
        """Turn :func:`gradient_stats` output into the logged values (keys
        without the ``train/gc/`` prefix)."""

        def values(ss_before, ss_after, max_before, max_after):
            return (math.sqrt(ss_before), math.sqrt(ss_after), max_before, max_after)

        rows = list(per_weight.values())
        total = values(
            sum(r[0] for r in rows),
            sum(r[1] for r in rows),
            max(r[2] for r in rows),
            max(r[3] for r in rows),
        )
        stats = dict(zip(STAT_KEYS, total))
        for name in layers:
            if name in per_weight:
                stats.update(
                    {f'{k}/{name}': v for k, v in zip(STAT_KEYS, values(*per_weight[name]))}
                )
        return stats

    # ------------------------------------------------------------ tear down
    def after_train(self, runner: Runner) -> None:
        self._remove_hooks()

    def _remove_hooks(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks = []
        self._armed = False
        self._pending = {}
