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

    Every ``interval`` training iterations (``(runner.iter + 1) % interval
    == 0``), at the optimizer step, when the gradients are final (clipped,
    unscaled, all-reduced), it records for the whole set of GC targets and
    for each of ``layers``:

    * ``train/gc/grad_norm_before`` and ``train/gc/grad_norm_after``: the L2
      norm of the gradient and of Φ_GC(gradient) (over all targets: the
      square root of the sum of squares);
    * ``train/gc/grad_max_before`` and ``train/gc/grad_max_after``: max |g|
      (over all targets: the max);
    * the same four per layer, e.g. ``train/gc/grad_norm_before/conv1.weight``.

    Φ_GC is applied to a float32 copy, without the weight-decay term, so the
    hook never changes the gradients or the training result. Since Φ_GC is an
    orthogonal projection, ``grad_norm_after <= grad_norm_before`` always;
    ``grad_max_after`` is only bounded by ``2 * grad_max_before`` (subtracting
    a channel's mean can raise its largest entry), though with real
    gradients it is usually lower, as the paper's Fig. 4 shows.

    With GC (``GCOptimWrapperConstructor``) the hook observes the GC handle
    (:meth:`~gc_mmdet.core.attach.GCHandle.register_observer`) and reports on
    exactly the weights GC acts on. Without GC (a baseline run) it selects
    the conv / fc weights itself with
    :func:`~gc_mmdet.core.selection.select_targets` (the defaults,
    ``layers='conv_fc'``, ``layout='paper'``) and reads their gradients in a
    step pre-hook of the optimizer, so both runs log comparable numbers.
    With an ``OptimWrapperDict`` every wrapper is handled this way.

    **How the values are logged, and why there.** At the end of a recorded
    iteration the hook writes them with ``runner.visualizer.add_scalars(...,
    step=runner.iter + 1)``, i.e. to every configured vis backend
    (``vis_data/scalars.json`` for ``LocalVisBackend``, TensorBoard, ...) at
    exactly the step whose gradients they describe (the step ``LoggerHook``
    uses for the same iteration), and prints one line with the whole-model
    values through ``runner.logger``. They deliberately do not go through
    ``runner.message_hub`` / ``LogProcessor``, because that path would
    misreport a statistic recorded only every ``interval`` iterations:

    * ``LogProcessor`` re-emits the latest value of every ``train/`` scalar at
      each log interval, so a value would be repeated, stale, at iterations
      where nothing was measured;
    * keys matching its ``mean_pattern`` (by default anything containing
      ``grad_norm``) are averaged over the last ``window_size`` *records*,
      i.e. over ``window_size * interval`` iterations;
    * in epoch-based loops ``LoggerHook`` logs by the iteration inside the
      epoch, so its iterations do not line up with every ``interval``-th
      global iteration, whatever the two intervals.

    The values are not written to ``LoggerHook``'s ``<timestamp>.json``
    either, whose lines MMDetection's ``analyze_logs.py`` expects to be the
    logger's. An iteration whose optimizer step does not run (gradient
    accumulation, a step AMP skips for inf/NaN) records nothing. Statistics
    are computed on the main process only (after the all-reduce every rank
    holds the same gradients).

    Cost: on iterations that are not recorded, the observer returns at once;
    on a recorded one, a few reductions per target and one device sync.

    Example:
        >>> custom_hooks = [dict(type='GCStatsHook', interval=50)]
        >>> # chosen layers, by parameter name
        >>> custom_hooks = [dict(type='GCStatsHook', interval=100,
        ...                      layers=['backbone.conv1.weight',
        ...                              'roi_head.bbox_head.fc_reg.weight'])]

    Args:
        interval: record every ``interval`` training iterations. Defaults to
            50.
        layers: names of the parameters (``model.named_parameters()`` names
            of GC targets) to record individually. ``None`` (the default)
            picks the first convolution and the last fully-connected layer
            (see :func:`default_layers`); ``[]`` records the totals only.
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
            handle = getattr(wrapper, 'gc_handle', None)
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
