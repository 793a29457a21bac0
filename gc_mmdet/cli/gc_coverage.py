# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""What GC covers in a config's model, and whether two checkpoints of a run
obey GC's constraint.

GC keeps the mean of every output channel's weights where it started
(paper, Sec. 3.3: ``e^T (w - w0) = 0``) whenever the step itself is
centralized: SGD (with momentum and coupled weight decay) with GC on the
gradient, or any optimizer with ``location='update'``. Adam-type optimizers
with GC on the gradient rescale it per element afterwards, so the weight
change is no longer zero-mean and the constraint does not hold.
"""

import logging
import os.path as osp
from typing import Any, Dict, List, Optional, Tuple

import torch
from mmdet.registry import MODELS
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from ..core.attach import ADAPTIVE_OPTIMIZERS
from ..core.centralize import channel_mean
from ..core.selection import SKIP_OTHER, GCSelection
from ..utils.config_parts import is_type
from ..utils.errors import UserError
from ..utils.pretrained import without_pretrained
from .config import read_config

__all__ = [
    'verify_report',
    'load_with_gc',
    'build_model_with_gc',
    'coverage_table',
    'channel_drift',
    'verify_checkpoints',
    'FLOAT_ATOL',
]


def load_with_gc(path: str, cfg_options: Optional[dict] = None) -> Tuple[Any, Optional[dict]]:
    """Load a config; when its optimizer wrapper has no GC, add it the way
    the README says (``location='update'`` for adaptive optimizers), on top
    of the config's own constructor when it names one.

    Returns:
        tuple: the config, and the ``gc_cfg`` added (None when the config
        already uses GC).
    """

    cfg = read_config(path, cfg_options)
    ow = cfg.optim_wrapper
    if is_type(ow.get('constructor'), 'GCOptimWrapperConstructor'):
        return cfg, None
    opt_type = str(ow.optimizer.get('type', ''))
    added = dict(location='update' if opt_type.split('.')[-1] in ADAPTIVE_OPTIMIZERS else 'grad')
    if ow.get('constructor') is not None:  # GC on top of the config's own constructor
        added['base_constructor'] = ow.constructor
    ow.constructor, ow.gc_cfg = 'GCOptimWrapperConstructor', added
    return cfg, added


def build_model_with_gc(cfg: Any) -> Tuple[torch.nn.Module, Any]:
    """Build the model (no pretrained weights) and its optimizer wrapper
    through the config's constructor; returns the model and the wrapper
    (:func:`~gc_mmdet.engine.optimizers.gc_handle_of` gives its GC handle)."""

    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)  # paramwise_cfg logs a line per parameter
    try:
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmdet')):
            model = MODELS.build(without_pretrained(cfg.model))
            wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    finally:
        logger.setLevel(level)
    return model, wrapper


def coverage_table(selection: GCSelection, model: torch.nn.Module) -> str:
    """Covered tensors and parameters by kind, skipped ones by reason."""
    params = dict(model.named_parameters())
    lines = ['| | tensors | parameters |', '|---|---|---|']
    counts = selection.counts_by_kind()
    for kind, (n, numel) in counts.items():
        lines.append(f'| GC: {kind} | {n} | {numel:,} |')
    total = [sum(c[i] for c in counts.values()) for i in (0, 1)]
    lines.append(f'| **GC total** | {total[0]} | {total[1]:,} |')
    for reason, names in selection.skipped.items():
        n = sum(params[x].numel() for x in names if x in params)
        lines.append(f'| skipped: {reason} | {len(names)} | {n:,} |')
    if selection.skipped.get(SKIP_OTHER):
        lines += [
            '',
            'Not centralized, not a known layer: ' + ', '.join(selection.skipped[SKIP_OTHER]),
        ]
    return '\n'.join(lines)


def _state_dict(path: str) -> Dict[str, torch.Tensor]:
    if not osp.isfile(path):
        raise UserError(f'checkpoint {path}: no such file')
    ckpt = torch.load(path, map_location='cpu')
    return ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt


#: float32 rounding of the weights and of the channel means GC computes
#: leaves channel means unchanged only to about this fraction of |w|
FLOAT_ATOL = 1e-6


def channel_drift(layout, before: torch.Tensor, after: torch.Tensor, tol: float = 1e-3) -> dict:
    """How far a weight's output-channel means moved between two versions.

    ``drift`` is the largest change of an output channel's mean, ``moved``
    the largest RMS change of an output channel's weights. GC's constraint
    holds when ``drift <= tol * moved + FLOAT_ATOL * max|w|``: without GC
    the means move with the weights (``drift / moved`` ~0.01-1); with it
    only float rounding moves them.
    """

    wa, wb = before.detach().double(), after.detach().double()
    drift = (channel_mean(wb, layout) - channel_mean(wa, layout)).abs().max().item()
    moved = layout.view(wb - wa).pow(2).mean(layout.reduce_dims).sqrt().max().item()
    scale = max(wa.abs().max().item(), wb.abs().max().item())
    return dict(
        drift=drift,
        moved=moved,
        ratio=drift / moved if moved > 0 else float('inf'),
        holds=moved > 0 and drift <= tol * moved + FLOAT_ATOL * scale,
    )


def verify_checkpoints(
    selection: GCSelection, ckpt_a: str, ckpt_b: str, tol: float = 1e-3
) -> Tuple[bool, List[dict]]:
    """Check GC's constraint between two checkpoints of one run, for every
    weight GC covers (see :func:`channel_drift`).

    Returns:
        tuple: whether it holds for every covered weight (and they moved),
        and one row per weight (``name``, ``kind``, ``drift``, ``moved``,
        ``ratio``, ``holds``), those that break it first, then by ratio.
    """
    a, b = _state_dict(ckpt_a), _state_dict(ckpt_b)
    rows = []
    for t in selection.targets:
        if t.name not in a or t.name not in b:
            raise UserError(f'{t.name}: not in both checkpoints; are they from this config?')
        rows.append(
            dict(name=t.name, kind=t.kind, **channel_drift(t.layout, a[t.name], b[t.name], tol))
        )
    rows.sort(key=lambda r: (r['holds'], -r['ratio']))
    return bool(rows) and all(r['holds'] for r in rows), rows


def verify_report(ok: bool, rows: List[dict]) -> str:
    """The five worst weights of :func:`verify_checkpoints` as a table, and
    one line: the GC constraint holds on every covered weight, or not."""
    lines = [
        '',
        '| layer | kind | max channel-mean change | max channel RMS change | ratio |',
        '|---|---|---|---|---|',
    ]
    for r in rows[:5]:
        lines.append(
            f'| {r["name"]} | {r["kind"]} | {r["drift"]:.3e} | {r["moved"]:.3e} | {r["ratio"]:.3e} |'
        )
    worst = rows[0]
    if ok:
        lines.append(
            f'GC constraint holds on all {len(rows)} covered weights '
            f'(worst: {worst["name"]}, ratio {worst["ratio"]:.2e})'
        )
    else:
        broken = sum(not r['holds'] for r in rows)
        lines.append(
            f'GC constraint violated on {broken} of {len(rows)} covered weights; worst: '
            f'{worst["name"]} changed its channel means by {worst["drift"]:.3e} while its '
            f'weights moved {worst["moved"]:.3e} (ratio {worst["ratio"]:.2e}); '
            'was GC in effect for this run?'
        )
    return '\n'.join(lines)
