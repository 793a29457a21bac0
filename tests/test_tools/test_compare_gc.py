"""GCStatsHook on real synthetic runs and tools/compare_gc.py on them."""

import json
import os.path as osp

import cv2
import pytest

from gc_mmdet.cli.run_logs import read_scalars, val_records
from helpers.synthetic import assert_ok, run, tool_cmd

pytestmark = pytest.mark.slow


def test_gc_stats_in_both_runs_satisfy_the_theory(trained_gc, trained_baseline):
    for work_dir, _ in (trained_gc, trained_baseline):
        recs = [r for r in read_scalars(work_dir) if 'train/gc/grad_norm_before' in r]
        assert [r['step'] for r in recs] == [4, 8]
        for r in recs:
            assert r['train/gc/grad_norm_after'] <= r['train/gc/grad_norm_before']
            assert 0 < r['train/gc/grad_max_before']


def test_compare_tool_reports_the_logged_metrics(trained_gc, trained_baseline, tmp_path):
    base, gc = trained_baseline[0], trained_gc[0]
    out = str(tmp_path / 'cmp')
    proc = run(tool_cmd('compare_gc.py', base, gc, '--out', out))
    assert_ok(proc)
    cmp = json.load(open(osp.join(out, 'compare.json')))
    assert cmp['row'] is None  # synthetic runs match no paper row
    for side, wd in (('baseline', base), ('gc', gc)):
        last = val_records(read_scalars(wd))[-1]
        for task in ('bbox', 'segm'):
            assert cmp['ours'][side][task]['AP'] == pytest.approx(100 * last[f'coco/{task}_mAP'])
            assert cmp['ours'][side][task]['AP75'] == pytest.approx(
                100 * last[f'coco/{task}_mAP_75']
            )
    assert cmp['ours']['delta']['bbox']['AP'] == pytest.approx(
        cmp['ours']['gc']['bbox']['AP'] - cmp['ours']['baseline']['bbox']['AP']
    )
    md = open(osp.join(out, 'compare.md')).read()
    assert md in proc.stdout and '| ours: GC |' in md and 'mask AP75' in md
    for name in ('loss.png', 'ap.png', 'grad_norm.png'):
        img = cv2.imread(osp.join(out, name))
        assert img is not None and img.shape == (400, 600, 3), name


def test_compare_with_paper_row(trained_gc, trained_baseline, tmp_path):
    proc = run(
        tool_cmd(
            'compare_gc.py',
            trained_baseline[0],
            trained_gc[0],
            '--row',
            'mask_rcnn_r50',
            '--out',
            str(tmp_path),
        )
    )
    assert_ok(proc)
    assert '| paper: baseline | 37.4 | 59.0 | 40.6 | 34.1 | 55.5 | 36.1 |' in proc.stdout
    assert '| paper: Δ | +0.5 | +0.6 | +0.6 | +0.6 | +0.6 | +0.9 |' in proc.stdout
    assert '| mmdet baseline (metafile) | 38.2 | - | - | 34.7 | - | - |' in proc.stdout
    bad = run(tool_cmd('compare_gc.py', trained_baseline[0], trained_gc[0], '--row', 'nope'))
    assert bad.returncode == 2 and bad.stderr.startswith("error: --row 'nope'")
