import os
import subprocess


def _share_the_cores() -> None:
    """Under pytest-xdist (``make test`` runs ``-n $PYTEST_WORKERS``) each
    worker, and every process it starts, gets its share of the cores as
    torch's intra-op threads (at least 1): two torch processes with 2 threads
    each on 2 cores slow each other far more than 2x. Set here, before anything imports
    torch, so that the tools' processes inherit it. A value the user exports
    is kept."""
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '0'))
    if workers > 1:
        os.environ.setdefault('OMP_NUM_THREADS', str(max(1, (os.cpu_count() or 1) // workers)))


_share_the_cores()

import pytest  # noqa: E402

from helpers.once import once  # noqa: E402
from helpers.synthetic import (  # noqa: E402
    BASELINE_CONFIG,
    GC_CONFIG,
    assert_ok,
    run,
    tiny_overrides,
    tool_cmd,
)

# GC_MMDET_TEST_TIMES=FILE records the session's times (docs/get_started.md, "Tests")
pytest_plugins = ['helpers.timing', 'helpers.schedule']


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
    """Trains ``config`` through tools/train.py once per session, however many
    pytest-xdist workers ask (helpers.once; each worker trained it again: 2
    runs of about 20 s became 6 with 3 workers). Returns the work_dir and the
    tool's completed process; its users read both and write nothing into the
    work_dir."""

    def train(work_dir):
        opts = tiny_overrides(synthetic_root)
        proc = run(tool_cmd('train.py', config, '--work-dir', str(work_dir), cfg_options=opts))
        assert_ok(proc)
        return {f: getattr(proc, f) for f in ('args', 'returncode', 'stdout', 'stderr')}

    work_dir, proc = once(tmp_path_factory, name, train)
    return str(work_dir), subprocess.CompletedProcess(**proc)


@pytest.fixture(scope='session')
def trained_gc(synthetic_root, tmp_path_factory):
    """A 2-epoch (8-iteration) GC run of the synthetic config, through tools/train.py."""

    return _train(GC_CONFIG, synthetic_root, tmp_path_factory, 'train_gc')


@pytest.fixture(scope='session')
def trained_baseline(synthetic_root, tmp_path_factory):
    """The same without GC."""

    return _train(BASELINE_CONFIG, synthetic_root, tmp_path_factory, 'train_baseline')
