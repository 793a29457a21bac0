# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Which of mmengine's ``FlexibleRunner`` strategies can carry GC.

GC hooks the optimizer the constructor builds. ``DDPStrategy`` and
``SingleDeviceStrategy`` step that optimizer over the model's own weights;
DeepSpeed ZeRO stage 0 too. ZeRO stages 1 to 3 step flattened partitions
instead, and ``FSDPStrategy`` (FSDP1) flattens the weights themselves, so a
per-output-channel mean no longer exists there: both are refused before
anything is built.

Example:
    >>> check_gc_strategy(dict(type='DeepSpeedStrategy',
    ...                        zero_optimization=dict(stage=0)))
    >>> check_gc_strategy(dict(type='FSDPStrategy'))  # doctest: +SKIP
    ValueError: strategy=dict(type='FSDPStrategy') is FSDP1, ...
"""

import json
import os.path as osp
from typing import Any, Optional

from ...utils.config_parts import is_type

__all__ = ['check_gc_strategy', 'zero_stage']


def zero_stage(strategy: Any) -> int:
    """The ZeRO stage a ``DeepSpeedStrategy`` config asks for (0 when unset),
    from ``zero_optimization`` or from its ``config`` (dict or JSON file)."""
    zero = strategy.get('zero_optimization')
    if zero is None:
        config = strategy.get('config') or {}
        if isinstance(config, str):
            if not osp.isfile(config):
                raise ValueError(f'strategy.config {config}: no such file')
            with open(config) as f:
                config = json.load(f)
        zero = config.get('zero_optimization') or {}
    return int(zero.get('stage', 0))


def check_gc_strategy(strategy: Optional[Any]) -> None:
    """Refuse a ``FlexibleRunner`` strategy under which GC cannot act.

    Args:
        strategy: the config's ``strategy`` (a dict, or None for the default).

    Raises:
        ValueError: one line naming the strategy and what to use instead.
    """
    if not strategy or not hasattr(strategy, 'get'):
        return
    kind = strategy.get('type', '')
    if is_type(kind, 'FSDPStrategy'):
        raise ValueError(
            "strategy=dict(type='FSDPStrategy') is FSDP1, which flattens every weight into one "
            "vector, so GC has no output channels to centralize: use strategy=dict(type='DDPStrategy'), "
            "or torch's FSDP2 (fully_shard) with gc_mmdet.attach (docs/any_detector.md)"
        )
    if is_type(kind, 'DeepSpeedStrategy'):
        stage = zero_stage(strategy)
        if stage > 0:
            raise ValueError(
                f"strategy=dict(type='DeepSpeedStrategy') with ZeRO stage {stage}: DeepSpeed then "
                'steps the optimizer over flattened partitions, not over the weights GC selected, '
                'so GC would be off; set strategy.zero_optimization.stage=0, or use '
                "strategy=dict(type='DDPStrategy') (docs/any_detector.md)"
            )
