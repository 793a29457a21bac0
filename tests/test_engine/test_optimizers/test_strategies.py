# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""mmengine FlexibleRunner strategies GC cannot act under are refused when
the config loads, in one line naming the strategy and what to use:
FSDPStrategy (FSDP1's flat weights) and DeepSpeed ZeRO stages 1 to 3
(flattened partitions); ZeRO stage 0 and DDPStrategy pass."""

import json

import pytest

from gc_mmdet.engine.optimizers import check_gc_strategy
from helpers.synthetic import GC_CONFIG, run, tool_cmd


@pytest.mark.parametrize(
    'strategy',
    [
        None,
        dict(type='DDPStrategy'),
        dict(type='SingleDeviceStrategy'),
        dict(type='DeepSpeedStrategy'),
        dict(type='DeepSpeedStrategy', zero_optimization=dict(stage=0)),
        dict(type='DeepSpeedStrategy', config=dict(zero_optimization=dict(stage=0))),
    ],
)
def test_strategies_gc_acts_under_pass(strategy):
    check_gc_strategy(strategy)


@pytest.mark.parametrize('stage', [1, 2, 3])
def test_deepspeed_zero_partitions_are_refused(stage, tmp_path):
    ds_json = tmp_path / 'ds.json'
    ds_json.write_text(json.dumps(dict(zero_optimization=dict(stage=stage))))
    for strategy in (
        dict(type='DeepSpeedStrategy', zero_optimization=dict(stage=stage)),
        dict(type='DeepSpeedStrategy', config=dict(zero_optimization=dict(stage=stage))),
        dict(type='DeepSpeedStrategy', config=str(ds_json)),
    ):
        with pytest.raises(
            ValueError, match=f'ZeRO stage {stage}: .*strategy.zero_optimization.stage=0'
        ):
            check_gc_strategy(strategy)


def test_fsdp1_is_refused_pointing_to_fsdp2_or_ddp():
    with pytest.raises(ValueError, match=r'FSDP1, .*DDPStrategy.*FSDP2 \(fully_shard\)'):
        check_gc_strategy(dict(type='FSDPStrategy'))


def test_missing_deepspeed_json_is_named(tmp_path):
    missing = str(tmp_path / 'nope.json')
    with pytest.raises(ValueError, match=f'strategy.config {missing}: no such file'):
        check_gc_strategy(dict(type='DeepSpeedStrategy', config=missing))


@pytest.mark.slow  # runs tools/train.py (it stops at the config)
def test_train_tool_refuses_before_building_anything(tmp_path):
    work_dir = tmp_path / 'work'
    proc = run(
        tool_cmd(
            'train.py',
            GC_CONFIG,
            '--work-dir',
            str(work_dir),
            cfg_options=[
                'runner_type=FlexibleRunner',
                'strategy.type=DeepSpeedStrategy',
                'strategy.zero_optimization.stage=2',
            ],
        ),
        timeout=300,
    )
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "error: strategy=dict(type='DeepSpeedStrategy') with ZeRO stage 2"
    ), proc.stderr
    assert not work_dir.exists() or not any(work_dir.rglob('*.pth'))
