"""gc_mmdet.cli.common: what tools/train.py refuses in one line when it loads
a config, before any data is checked or a model built."""

import argparse

import pytest

from gc_mmdet.cli.common import add_common_args, load_config, run_cli
from gc_mmdet.utils import UserError
from helpers.synthetic import ROOT

BASELINE = f'{ROOT}/configs/synthetic/mask-rcnn_r18-half_fpn_gn-all_demo.py'


def _load(config, work_dir, *options):
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    add_common_args(parser)
    argv = [config, '--work-dir', str(work_dir)]
    if options:
        argv += ['--cfg-options', *options]
    return load_config(parser.parse_args(argv))


@pytest.mark.parametrize(
    'options,line',
    [
        (
            ['optim_wrapper.gc_cfg.layers=conv'],
            "optim_wrapper has gc_cfg but no constructor, and mmengine's default constructor "
            "knows no gc_cfg: set optim_wrapper.constructor='GCOptimWrapperConstructor' (on the "
            'command line: --cfg-options optim_wrapper.constructor=GCOptimWrapperConstructor)',
        ),
        (
            [
                'optim_wrapper.gc_cfg.layers=conv',
                'optim_wrapper.constructor=mmengine.DefaultOptimWrapperConstructor',
            ],
            "optim_wrapper has gc_cfg but constructor='mmengine.DefaultOptimWrapperConstructor', "
            "which knows no gc_cfg: set constructor='GCOptimWrapperConstructor' and "
            "gc_cfg.base_constructor='mmengine.DefaultOptimWrapperConstructor'",
        ),
    ],
    ids=['no-constructor', 'another-constructor'],
)
def test_gc_cfg_without_gcs_constructor_is_one_line(tmp_path, capsys, options, line):
    """On the old code the first case loaded, and training ended in
    mmengine's TypeError: OptimWrapper.__init__() got an unexpected keyword
    argument 'gc_cfg'."""
    with pytest.raises(UserError) as error:
        _load(BASELINE, tmp_path / 'work', *options)
    assert str(error.value) == f'{BASELINE}: {line}'

    def main():
        _load(BASELINE, tmp_path / 'work', *options)

    with pytest.raises(SystemExit) as stop:
        run_cli(main)
    assert stop.value.code == 2
    assert capsys.readouterr().err == f'error: {BASELINE}: {line}\n'
    assert not (tmp_path / 'work').exists()


@pytest.mark.parametrize(
    'options',
    [
        ['optim_wrapper.constructor=GCOptimWrapperConstructor', 'optim_wrapper.gc_cfg.layers=conv'],
        ['optim_wrapper.constructor=mmengine.GCOptimWrapperConstructor'],
        [],
    ],
    ids=['name', 'scoped', 'none'],
)
def test_the_ways_users_turn_gc_on_load(tmp_path, options):
    cfg = _load(BASELINE, tmp_path / 'work', *options)
    assert cfg.optim_wrapper.get('constructor') in (None, *[o.split('=')[1] for o in options[:1]])
