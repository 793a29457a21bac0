"""End to end on the synthetic data set, through the real tools: train,
evaluate, data errors, divergence (distributed runs: test_distributed.py;
kill and resume: test_checkpoint_safety.py)."""

import json
import os
import os.path as osp
import re
import shutil

import pytest

from gc_mmdet.cli.run_logs import last_checkpoint, read_scalars, train_records
from helpers.synthetic import BASELINE_CONFIG, GC_CONFIG, assert_ok, run, tiny_overrides, tool_cmd

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def data_root(synthetic_root):
    return synthetic_root


@pytest.fixture(scope='module')
def trained(trained_gc):
    return trained_gc


def test_training_loss_falls_and_gc_is_on(trained):
    work_dir, proc = trained
    losses = [r['loss'] for r in train_records(read_scalars(work_dir))]
    assert len(losses) == 8
    assert sum(losses[4:]) < 0.9 * sum(losses[:4])  # per-iteration losses
    log = open(
        next(
            iter(
                sorted(
                    os.path.join(dp, f)
                    for dp, _, fs in os.walk(work_dir)
                    for f in fs
                    if f.endswith('.log')
                )
            )
        )
    ).read()
    assert 'Gradient Centralization on 63 tensors' in log
    assert f'checkpoint: {last_checkpoint(work_dir)}' in proc.stdout
    assert f'metrics: {work_dir}/metrics.json' in proc.stdout and '| bbox |' in proc.stdout


def test_test_tool_prints_coco_ap(trained, data_root, tmp_path):
    work_dir, _ = trained
    ckpt = last_checkpoint(work_dir)
    assert ckpt and osp.isfile(ckpt)
    out = str(tmp_path / 'test')  # not into the shared run's work_dir
    proc = run(
        tool_cmd(
            'test.py',
            GC_CONFIG,
            ckpt,
            '--work-dir',
            out,
            '--out',
            osp.join(out, 'preds.pkl'),
            cfg_options=tiny_overrides(data_root),
        )
    )
    assert_ok(proc)
    assert '| bbox |' in proc.stdout and '| segm |' in proc.stdout
    metrics = json.load(open(osp.join(out, 'metrics.json')))
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/segm_mAP'):
        assert 0.0 <= metrics[key] <= 1.0
    assert osp.getsize(osp.join(out, 'preds.pkl')) > 0


@pytest.mark.parametrize(
    'breakage,message',
    [
        (
            'missing_image',
            '{root}/annotations/instances_train.json: image 4 ({root}/train/000003.png): file not found',
        ),
        (
            'corrupt_json',
            'annotation file {root}/annotations/instances_train.json is not valid JSON',
        ),
        (
            'no_categories',
            'annotation file {root}/annotations/instances_train.json has an empty category list',
        ),
    ],
)
def test_data_errors_name_the_file(data_root, tmp_path, breakage, message):
    root = str(tmp_path / 'data')
    shutil.copytree(data_root, root)
    ann = osp.join(root, 'annotations', 'instances_train.json')
    if breakage == 'missing_image':
        os.remove(osp.join(root, 'train', '000003.png'))
    elif breakage == 'corrupt_json':
        text = open(ann).read()
        open(ann, 'w').write(text[: len(text) // 2])
    else:
        data = json.load(open(ann))
        data['categories'] = []
        json.dump(data, open(ann, 'w'))
    # synthetic=None: use the broken files as they are, do not regenerate
    opts = tiny_overrides(root) + [
        f'{k}.dataset.synthetic=None'
        for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]
    proc = run(
        tool_cmd('train.py', BASELINE_CONFIG, '--work-dir', str(tmp_path / 'w'), cfg_options=opts)
    )
    assert proc.returncode == 2
    assert 'Traceback' not in proc.stderr
    assert proc.stderr.strip().startswith('error: ' + message.format(root=root)), proc.stderr


def test_faster_rcnn_synthetic_trains_and_evaluates_bbox(data_root, tmp_path):
    """The Faster R-CNN pair (Table 8's model) runs through both tools too."""
    config = 'configs/synthetic/faster-rcnn_r50_fpn_gc_synthetic.py'
    opts = tiny_overrides(data_root, epochs=1)
    work_dir = str(tmp_path / 'faster')
    proc = run(tool_cmd('train.py', config, '--work-dir', work_dir, cfg_options=opts))
    assert_ok(proc)
    assert '| bbox |' in proc.stdout and '| segm |' not in proc.stdout
    log = ''.join(
        open(osp.join(dp, f)).read()
        for dp, _, fs in os.walk(work_dir)
        for f in fs
        if f.endswith('.log')
    )
    assert 'loss_mask' not in log and 'loss_bbox' in log
    # Faster R-CNN's conv/fc weights: Mask R-CNN's 63 less the mask head's 6
    assert 'Gradient Centralization on 57 tensors' in log
    proc = run(
        tool_cmd(
            'test.py',
            config,
            last_checkpoint(work_dir),
            '--work-dir',
            str(tmp_path / 'faster_test'),
            cfg_options=opts,
        )
    )
    assert_ok(proc)
    metrics = json.load(open(tmp_path / 'faster_test' / 'metrics.json'))
    assert 'coco/bbox_mAP' in metrics and 'coco/segm_mAP' not in metrics


def test_diverging_run_stops_at_once_with_one_line(data_root, tmp_path):
    """lr 1e8 without clipping: NaN at iteration 2, reported there, in one line."""
    work_dir = str(tmp_path / 'diverged')
    opts = tiny_overrides(data_root, epochs=2) + [
        'optim_wrapper.optimizer.lr=1e8',
        'optim_wrapper.clip_grad=None',
    ]
    proc = run(tool_cmd('train.py', GC_CONFIG, '--work-dir', work_dir, cfg_options=opts))
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith('error:')]
    assert len(errors) == 1 and 'Traceback' not in proc.stderr, proc.stderr
    match = re.match(
        r'error: training diverged at iteration (\d+) \(epoch 1\): loss=nan', errors[0]
    )
    assert match, errors[0]
    assert 'optim_wrapper.optimizer.lr' in errors[0] and 'optim_wrapper.clip_grad' in errors[0]
    # it stopped at that iteration: the ones before were logged, none after
    logged = [r['iter'] for r in train_records(read_scalars(work_dir))]
    assert logged == list(range(1, int(match.group(1))))
    assert last_checkpoint(work_dir) is None  # no checkpoint of NaN weights
