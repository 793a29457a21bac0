import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """A small synthetic COCO data set for the end-to-end tests."""
    return str(tmp_path_factory.mktemp('synthetic_coco'))


def _train(config, synthetic_root, tmp_path_factory, name):
    from _synthetic import assert_ok, run, tiny_overrides, tool_cmd

    work_dir = str(tmp_path_factory.mktemp(name))
    proc = run(
        tool_cmd(
            'train.py', config, '--work-dir', work_dir, cfg_options=tiny_overrides(synthetic_root)
        )
    )
    assert_ok(proc)
    return work_dir, proc


@pytest.fixture(scope='session')
def trained_gc(synthetic_root, tmp_path_factory):
    """A 2-epoch (8-iteration) GC run of the synthetic config, through tools/train.py."""
    from _synthetic import GC_CONFIG

    return _train(GC_CONFIG, synthetic_root, tmp_path_factory, 'train_gc')


@pytest.fixture(scope='session')
def trained_baseline(synthetic_root, tmp_path_factory):
    """The same without GC."""
    from _synthetic import BASELINE_CONFIG

    return _train(BASELINE_CONFIG, synthetic_root, tmp_path_factory, 'train_baseline')
