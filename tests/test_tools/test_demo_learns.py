# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The demo learns: a reduced `make demo` (fixed seed and iterations) reaches
a box AP that a broken pipeline could not, and its report draws what it
learned; its checkpoint evaluates to the same 24 COCO statistics with
faster-coco-eval as with pycocotools."""

import json
import os.path as osp

import cv2
import pytest

from helpers.eval_backends import compare_backends, stats_table
from helpers.synthetic import assert_ok, data_root_overrides, run, tool_cmd
from repo_tools.render_docs import demo_table
from repo_tools.results import load_results

pytestmark = pytest.mark.slow

DEMO = 'configs/synthetic/mask-rcnn_r18-half_fpn_gn-all_gc_demo.py'
ITERATIONS = 200  # 1 epoch of 200 iterations of 4 images, the warm-up cut to 50
# Measured on this config, seed 0, at these 200 iterations: box AP 0.080, mask
# AP 0.098 (the full demo reaches 0.19 at 400); an untrained or broken model
# scores below 0.02.
MIN_BOX_AP = 0.04


def _reduced(data_root: str):
    return data_root_overrides(data_root) + [
        'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1',
        'randomness.seed=0',
        'param_scheduler.0.end=50',
        'param_scheduler.1.milestones=[1]',
        'param_scheduler.1.end=1',
    ]


@pytest.fixture(scope='module')
def reduced_demo(tmp_path_factory):
    """``(data root, work dir, --cfg-options)`` of the reduced demo, trained."""
    tmp = tmp_path_factory.mktemp('reduced_demo')
    opts = _reduced(str(tmp / 'data'))
    work_dir = str(tmp / 'demo')
    proc = run(
        tool_cmd('train.py', DEMO, '--work-dir', work_dir, cfg_options=opts), timeout=550
    )  # < pytest-timeout
    assert_ok(proc)
    return str(tmp / 'data'), work_dir, opts


def test_reduced_demo_learns_and_reports(reduced_demo, tmp_path):
    _, work_dir, opts = reduced_demo
    metrics = json.load(open(osp.join(work_dir, 'metrics.json')))
    print(
        f'reduced demo, {ITERATIONS} iterations: box AP {metrics["coco/bbox_mAP"]:.3f}, '
        f'mask AP {metrics["coco/segm_mAP"]:.3f}'
    )
    assert metrics['coco/bbox_mAP'] >= MIN_BOX_AP
    assert metrics['coco/segm_mAP'] >= MIN_BOX_AP

    report = run(
        tool_cmd(
            'demo_report.py',
            *(DEMO, work_dir, '--num-images', '2', '--publish', str(tmp_path / 'results')),
            cfg_options=opts,
        ),
        timeout=300,
    )
    assert_ok(report)
    assert '| bbox |' in report.stdout and '| segm |' in report.stdout
    # where this run falls against the published comparison's GC band (a reduced run: below it)
    assert 'this run against the GC arm over' in report.stdout
    assert 'OUTSIDE' in report.stdout and '(docs/results/compare_demo.json)' in report.stdout
    curve, preds = osp.join(work_dir, 'ap_curve.png'), osp.join(work_dir, 'predictions.png')
    assert f'AP curve: {curve}' in report.stdout and f'predictions: {preds}' in report.stdout
    assert cv2.imread(curve).shape == (400, 600, 3)
    img = cv2.imread(preds)
    # 2 rows of ground truth | prediction, each 3 x 160 px
    assert img.shape[0] >= 2 * 480 and img.shape[1] == 2 * 480

    # --publish: the results file README's figures are rendered from
    published = load_results(str(tmp_path / 'results'), 'demo')
    assert published['final'] == pytest.approx(metrics) and published['seed'] == 0
    assert published['config'] == DEMO and published['timing']['iterations'] == ITERATIONS
    assert [p[0] for p in published['curve']['bbox']] == [ITERATIONS]
    assert published['timing']['wall_s'] > 0 and published['machine']['cores'] >= 1
    assert f'| bbox | **{metrics["coco/bbox_mAP"]:.3f}** |' in demo_table(published)
    for name in ('demo_ap_curve.png', 'demo_predictions.png'):
        assert cv2.imread(str(tmp_path / 'results' / name)) is not None


def test_make_demo_checks_publishing_before_training(tmp_path):
    """--check-publish only checks that --publish may write, before hours
    of training: into a folder of the user's it refuses, elsewhere it passes."""
    mine = tmp_path / 'mine'
    mine.mkdir()
    (mine / 'demo.json').write_text('{"not": "ours"}')
    args = (DEMO, str(tmp_path / 'no_run_yet'), '--check-publish', '--publish')
    refused = run(tool_cmd('demo_report.py', *args, str(mine)), timeout=300)
    assert refused.returncode == 2 and refused.stderr.startswith('error: --publish')
    ok = run(tool_cmd('demo_report.py', *args, str(tmp_path / 'results')), timeout=300)
    assert_ok(ok)
    assert ok.stdout == '' and not (tmp_path / 'results').exists()


def test_demo_checkpoint_evaluates_the_same_with_faster_coco_eval(reduced_demo, tmp_path, capsys):
    """tools/test.py --eval-backend faster --out on the trained checkpoint:
    the dumped predictions give the same 12 bbox and 12 segm statistics with
    both backends, and the tool's metrics are pycocotools'."""
    import mmengine

    from gc_mmdet.cli.run_logs import last_checkpoint

    data_root, work_dir, opts = reduced_demo
    out, preds = str(tmp_path / 'test'), str(tmp_path / 'preds.pkl')
    proc = run(
        tool_cmd(
            'test.py',
            DEMO,
            last_checkpoint(work_dir),
            '--work-dir',
            out,
            '--eval-backend',
            'faster',
            '--out',
            preds,
            cfg_options=opts,
        ),
        timeout=600,
    )
    assert_ok(proc)
    py, fast, delta = compare_backends(
        mmengine.load(preds), osp.join(data_root, 'annotations', 'instances_val.json')
    )
    with capsys.disabled():
        print(f'\nreduced demo checkpoint: max |Δ| {delta:.1e}\n' + stats_table(py[1], fast[1]))
    assert set(py[1]) == {'bbox', 'segm'} and delta <= 1e-4
    metrics = json.load(open(osp.join(out, 'metrics.json')))
    assert metrics.keys() == py[0].keys() and metrics == pytest.approx(py[0], abs=1e-4)
    assert metrics['coco/bbox_mAP'] >= MIN_BOX_AP
