"""The overhead benchmark runs (on a tiny model; its numbers live in docs/)."""

import json
import os.path as osp

import pytest
import torch

from gc_mmdet.core import channel_mean
from gc_mmdet.utils import UserError
from helpers.models import AllKinds
from helpers.synthetic import ROOT, load_script
from helpers.torch_features import needs_cpu_fused, needs_cpu_grad_scaler
from repo_tools.benchmark_tables import data_check_table
from repo_tools.results import check_publish, load_results, publish_benchmark


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
            '--publish',
            str(tmp_path / 'results'),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        # the path benchmarks run with (docs/benchmarks.md)
        env={**__import__('os').environ, 'PYTHONPATH': f'{ROOT}/tests:{ROOT}/tools'},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert figures['images'] == 40 and figures['annotations'] > 100
    assert 0 < figures['coco_cached_s'] <= figures['coco_first_s']
    assert len(list((tmp_path / 'standin' / 'images').iterdir())) == 40
    assert 'COCO train2017' in proc.stdout
    # --publish: the same figures with the machine and commit, as docs/benchmarks.md renders them
    published = load_results(str(tmp_path / 'results'), 'data_check_cost')
    assert published['kind'] == 'data_check_cost' and published['per'] == figures['per']
    assert published['machine']['cores'] >= 1 and published['commit']
    table = data_check_table(published)
    assert f'| check the annotations | {figures["seconds"]["annotations"]:.2f} |' in table
    assert table.splitlines()[-1] in proc.stdout  # what it printed is what the docs show


def test_publish_never_replaces_a_file_it_did_not_write(tmp_path):
    mine = tmp_path / 'gc_overhead.json'
    mine.write_text('{"my": "numbers"}')
    with pytest.raises(
        UserError, match='would overwrite gc_overhead.json, which this tool did not'
    ):
        check_publish(str(tmp_path), 'gc_overhead')
    assert mine.read_text() == '{"my": "numbers"}'
    publish_benchmark(str(tmp_path / 'ours'), 'gc_overhead', dict(runs=[]))
    check_publish(str(tmp_path / 'ours'), 'gc_overhead')  # its own earlier file: fine


@needs_cpu_grad_scaler
@needs_cpu_fused
def test_gpu_check_dry_runs_on_the_cpu(tmp_path):
    """benchmarks/gpu_check.py's logic, on the CPU (no GPU has run it yet):
    fused under GradScaler equals plain, bf16 keeps the channel means; and
    the bf16 check can fail: without GC the means drift far past tolerance."""
    check = load_script('benchmarks/gpu_check.py')
    out = tmp_path / 'gpu_check.json'
    assert check.main(['--device', 'cpu', '--quick', '--no-cost', '--json', str(out)]) == 0
    results = json.load(open(out))
    assert sorted(results['fused']) == sorted(
        f'{o}-{loc}' for o in ('sgd', 'adam', 'adamw') for loc in ('grad', 'update')
    )
    assert max(results['bf16'].values()) <= check.TOLERANCE['bf16']
    model, handle, before = check._train('cpu', 'sgd', 'grad', 3, scaled=False, bf16=True)
    handle.remove()
    for x, y in check._batches(3, 'cpu'):  # more steps without GC
        model.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        torch.optim.SGD(model.parameters(), lr=0.05).step()
    t = handle.targets[0]
    drift = channel_mean(t.param.detach(), t.layout) - channel_mean(before[t.name], t.layout)
    assert drift.abs().max() / before[t.name].abs().max() > 100 * check.TOLERANCE['bf16']
