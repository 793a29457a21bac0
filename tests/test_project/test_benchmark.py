"""The overhead benchmark runs (on a tiny model; its numbers live in docs/)."""

import os.path as osp

import pytest

from helpers.models import AllKinds
from helpers.synthetic import ROOT, load_script


@pytest.fixture(scope='module')
def bench():
    return load_script('benchmarks/gc_overhead.py')


def test_gc_pass_and_step_benchmarks_run(bench):
    model = AllKinds()
    gcp = bench.bench_gc_pass(model, repeats=3, device='cpu')
    assert gcp['tensors'] == 7 and gcp['ratio']['median'] > 0
    step = bench.bench_step(model, repeats=3, device='cpu')
    assert step['sgd_ms'] > 0 and step['with_over_without']['median'] > 0
    assert step['reference_over_ours']['q1'] <= step['reference_over_ours']['q3']


def test_reference_loop_is_sgd_gc(bench):
    """The benchmark's reference loop really is SGD_GC: it keeps channel means."""
    import torch

    model = AllKinds()
    params = [model.conv.weight]
    w0 = model.conv.weight.detach().clone()
    model.conv.weight.grad = torch.randn_like(w0)
    bench.reference_sgd_gc(params, lr=0.1)()
    assert not torch.equal(model.conv.weight, w0)
    torch.testing.assert_close(model.conv.weight.mean((1, 2, 3)), w0.mean((1, 2, 3)))


@pytest.mark.slow  # starts a process: seconds
def test_data_check_benchmark_runs_and_its_standin_is_clean(tmp_path):
    """The data-check benchmark on 40 images: its stand-in passes the check
    (so it times the no-fault path), the figures come out, the folder it
    was given is kept."""
    import json
    import subprocess
    import sys

    out = tmp_path / 'bench.json'
    proc = subprocess.run(
        [
            sys.executable,
            osp.join(ROOT, 'benchmarks', 'data_check_cost.py'),
            '--images',
            '40',
            '--width',
            '160',
            '--height',
            '120',
            '--workdir',
            str(tmp_path / 'standin'),
            '--json',
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__('os').environ, 'PYTHONPATH': ROOT},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert figures['images'] == 40 and figures['annotations'] > 100
    assert 0 < figures['coco_cached_s'] <= figures['coco_first_s']
    assert len(list((tmp_path / 'standin' / 'images').iterdir())) == 40
    assert 'COCO train2017' in proc.stdout
