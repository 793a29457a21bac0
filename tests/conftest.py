import os

import pytest

from helpers.synthetic import BASELINE_CONFIG, GC_CONFIG, assert_ok, run, tiny_overrides, tool_cmd

# GC_MMDET_TEST_TIMES=FILE records the session's times (docs/get_started.md, "Tests")
pytest_plugins = ['helpers.timing']


@pytest.fixture(autouse=True)
def _environment_as_it_was():
    """Each test leaves the session's environment as it found it: code the
    tests call in-process sets variables (the launch helpers set
    OMP_NUM_THREADS, torchrun's helpers TORCH_DISABLE_SHARE_RDZV_TCP_STORE)
    that would reach every later test and its processes, and send their tool
    runs to a fresh interpreter (helpers.warm_python)."""
    saved = dict(os.environ)
    yield
    if dict(os.environ) != saved:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """A small synthetic COCO data set for the end-to-end tests."""
    return str(tmp_path_factory.mktemp('synthetic_coco'))


def _train(config, synthetic_root, tmp_path_factory, name):

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

    return _train(GC_CONFIG, synthetic_root, tmp_path_factory, 'train_gc')


@pytest.fixture(scope='session')
def trained_baseline(synthetic_root, tmp_path_factory):
    """The same without GC."""

    return _train(BASELINE_CONFIG, synthetic_root, tmp_path_factory, 'train_baseline')
