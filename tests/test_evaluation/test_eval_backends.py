# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""COCO evaluation with faster-coco-eval gives pycocotools' numbers: all 12
statistics of bbox and segm (and class-agnostic proposals) agree to 1e-4 on
the synthetic val split, on 500 images with crowd regions, and (slow) on a
trained model's predictions through tools/test.py --eval-backend faster;
plus the config key's and the flag's errors and conversions.

The end-to-end evaluation of a trained demo checkpoint with both backends is
in tests/test_tools/test_demo_learns.py (it reuses that test's training)."""

import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from gc_mmdet.evaluation import BackendCocoMetric, coco_api, with_eval_backend
from gc_mmdet.utils import UserError
from helpers.eval_backends import compare_backends, detections_to_samples, evaluate, stats_table
from helpers.synthetic import GC_CONFIG, ROOT, assert_ok, load_script, run, tiny_overrides, tool_cmd
from helpers.synthetic_detections import jitter_detections, synthetic_coco_gt

TOL = 1e-4

# pycocotools' mask.decode under numpy 2, once per decoded mask
pytestmark = pytest.mark.filterwarnings('ignore:__array__ implementation:DeprecationWarning')


@pytest.fixture(scope='module')
def crowd_set(tmp_path_factory):
    """500 images (64-160 px) with crowd regions, as an annotation file, and
    detections synthesized from them; every 25th image has 120 confident
    false positives of one class (more than pycocotools' maxDets=100)."""
    gt = synthetic_coco_gt(500, min_size=64, max_size=160, seed=1, crowd_fraction=0.3)
    dets = jitter_detections(gt, seed=1, overflow_every=25)
    ann_file = str(tmp_path_factory.mktemp('crowd') / 'instances_val.json')
    with open(ann_file, 'w') as f:
        json.dump(gt, f)
    return gt, dets, ann_file


def _raw_stats(backend_classes, ann_file, dets, iou_type):
    """COCOeval.stats and .eval of a (COCO, COCOeval) pair, set up as
    mmdet's CocoMetric sets it up."""
    import copy

    COCO, COCOeval = backend_classes  # noqa: N806
    gt = COCO(ann_file)
    dets = copy.deepcopy(dets)
    if iou_type == 'segm':
        for d in dets:
            d.pop('bbox')
    ev = COCOeval(gt, gt.loadRes(dets), iou_type)
    ev.params.maxDets = [100, 300, 1000]
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return np.asarray(ev.stats, dtype=np.float64), ev.eval


# ------------------------------------------------------------ identity


def test_identity_on_crowd_regions(crowd_set, capsys):
    gt, dets, ann_file = crowd_set
    crowd = [a for a in gt['annotations'] if a['iscrowd']]
    assert len(crowd) > 100
    assert {type(a['segmentation']).__name__ for a in crowd} == {'list', 'dict'}
    assert any(
        isinstance(a['segmentation'], dict) and isinstance(a['segmentation']['counts'], list)
        for a in crowd
    )  # uncompressed RLE, as COCO's crowd regions

    py, fast, delta = compare_backends(
        detections_to_samples(gt, dets),
        ann_file,
        metric=['bbox', 'segm', 'proposal'],
        classwise=True,
    )
    with capsys.disabled():
        print(
            f'\n500 images with crowd regions: max |Δ| {delta:.1e}\n' + stats_table(py[1], fast[1])
        )
    assert delta <= TOL
    assert set(py[1]) == {'bbox', 'segm', 'proposal'}
    for iou_type in ('bbox', 'segm'):  # non-trivial numbers, small to large objects
        assert ((py[1][iou_type] > 0) & (py[1][iou_type] < 1)).all(), py[1][iou_type]
    assert py[0].keys() == fast[0].keys()  # classwise entries included
    for key, value in py[0].items():
        assert abs(value - fast[0][key]) <= TOL, key


def test_accumulated_precision_and_recall_agree(crowd_set):
    """Every entry of eval['precision'] and eval['recall'] (what classwise
    AP reads), and faster-coco-eval's own summary differs where ours does not."""
    _, dets, ann_file = crowd_set
    from faster_coco_eval import COCO as RawCOCO
    from faster_coco_eval import COCOeval_faster

    raw = (RawCOCO, lambda *a: COCOeval_faster(*a, print_function=lambda *_: None))
    for iou_type in ('bbox', 'segm'):
        py_stats, py_eval = _raw_stats(coco_api('pycocotools'), ann_file, dets, iou_type)
        fast_stats, fast_eval = _raw_stats(coco_api('faster'), ann_file, dets, iou_type)
        for key in ('precision', 'recall'):
            assert py_eval[key].shape == fast_eval[key].shape
            np.testing.assert_allclose(fast_eval[key], py_eval[key], rtol=0, atol=TOL)
        np.testing.assert_allclose(fast_stats, py_stats, rtol=0, atol=TOL)
        # faster-coco-eval as it comes: AP at maxDets[-1]=1000, not 100
        raw_stats, _ = _raw_stats(raw, ann_file, dets, iou_type)
        assert abs(raw_stats[0] - py_stats[0]) > TOL
        np.testing.assert_allclose(raw_stats[1:12], py_stats[1:12], rtol=0, atol=TOL)


def test_detections_on_crowd_regions_are_ignored(crowd_set):
    """Detections inside a crowd region of its class change nothing, with
    either backend; the same regions as ordinary objects would."""
    gt, dets, ann_file = crowd_set
    from pycocotools import mask as mask_utils

    crowd_of = {}
    for a in gt['annotations']:
        if a['iscrowd']:
            crowd_of.setdefault((a['image_id'], a['category_id']), []).append(a)
    img = {i['id']: i for i in gt['images']}

    def rle(seg, h, w):
        if isinstance(seg, list):
            return mask_utils.merge(mask_utils.frPyObjects(seg, h, w))
        if isinstance(seg['counts'], list):
            return mask_utils.frPyObjects(seg, h, w)
        return dict(
            seg, counts=seg['counts'].encode() if isinstance(seg['counts'], str) else seg['counts']
        )

    def only_on_own_crowd(d):
        """Inside a crowd region of its class, and below IoU 0.5 with every
        other object of its class: it can only match the crowd region."""
        crowds = crowd_of.get((d['image_id'], d['category_id']), [])
        if not crowds:
            return False
        h, w = img[d['image_id']]['height'], img[d['image_id']]['width']
        dm = rle(d['segmentation'], h, w)
        inside = any(
            mask_utils.area(mask_utils.merge([dm, rle(a['segmentation'], h, w)], intersect=True))
            == mask_utils.area(dm)
            for a in crowds
        )
        others = [
            rle(a['segmentation'], h, w)
            for a in gt['annotations']
            if a['image_id'] == d['image_id']
            and a['category_id'] == d['category_id']
            and not a['iscrowd']
        ]
        return inside and (
            not others or mask_utils.iou([dm], others, [0] * len(others)).max() < 0.5
        )

    kept = [d for d in dets if not only_on_own_crowd(d)]
    assert len(dets) - len(kept) > 150
    for backend in ('pycocotools', 'faster'):
        with_them, _ = _raw_stats(coco_api(backend), ann_file, dets, 'segm')
        without, _ = _raw_stats(coco_api(backend), ann_file, kept, 'segm')
        np.testing.assert_allclose(with_them, without, rtol=0, atol=1e-12)
    not_crowd = dict(gt, annotations=[dict(a, iscrowd=0) for a in gt['annotations']])
    path = osp.join(osp.dirname(ann_file), 'no_crowd.json')
    with open(path, 'w') as f:
        json.dump(not_crowd, f)
    as_objects, _ = _raw_stats(coco_api('pycocotools'), path, dets, 'segm')
    assert abs(as_objects[0] - with_them[0]) > 1e-3


@pytest.fixture(scope='module')
def synthetic_val(tmp_path_factory):
    """The synthetic generator's val split (150 images, 128 px) and detections
    synthesized from its ground truth."""
    from gc_mmdet.datasets import ensure_synthetic_coco

    root = str(tmp_path_factory.mktemp('synthetic_val'))
    ensure_synthetic_coco(root, num_train=0, num_val=150, size=128, seed=3)
    ann_file = osp.join(root, 'annotations', 'instances_val.json')
    with open(ann_file) as f:
        gt = json.load(f)
    return gt, jitter_detections(gt, seed=3), ann_file


def test_identity_on_synthetic_val_split(synthetic_val):
    gt, dets, ann_file = synthetic_val
    py, fast, delta = compare_backends(detections_to_samples(gt, dets), ann_file)
    assert delta <= TOL, stats_table(py[1], fast[1])
    assert 0 < py[1]['bbox'][0] < 1 and 0 < py[1]['segm'][0] < 1
    assert py[0] == pytest.approx(fast[0], abs=TOL)


def test_identity_without_ann_file(synthetic_val):
    """Ground truth converted from the data samples (CocoMetric without
    ann_file builds its COCO object while computing the metrics)."""
    gt, dets, _ = synthetic_val
    samples = detections_to_samples(gt, dets)
    label_of = {c['id']: i for i, c in enumerate(gt['categories'])}
    by_image = {s['img_id']: s for s in samples}
    for s in samples:
        s['instances'] = []
    for a in gt['annotations']:
        x, y, w, h = a['bbox']
        by_image[a['image_id']]['instances'].append(
            dict(
                bbox=[x, y, x + w, y + h],
                bbox_label=label_of[a['category_id']],
                ignore_flag=a['iscrowd'],
                mask=a['segmentation'],
            )
        )
    classes = tuple(c['name'] for c in gt['categories'])
    results = {}
    for backend in ('pycocotools', 'faster'):
        metric = BackendCocoMetric(metric=['bbox', 'segm'], eval_backend=backend)
        metric.dataset_meta = dict(classes=classes)
        metric.process({}, [dict(s) for s in samples])
        results[backend] = (metric.evaluate(len(samples)), metric.last_stats)
    for iou_type in ('bbox', 'segm'):
        np.testing.assert_allclose(
            results['faster'][1][iou_type], results['pycocotools'][1][iou_type], rtol=0, atol=TOL
        )
    assert results['faster'][0] == pytest.approx(results['pycocotools'][0], abs=TOL)


def test_faster_summary_prints_like_pycocotools(synthetic_val):
    """The 12 summary lines go to stdout (where a redirect catches them), as
    pycocotools prints them, with the same values."""
    import contextlib
    import io

    _, dets, ann_file = synthetic_val
    printed = {}
    for backend in ('pycocotools', 'faster'):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            _raw_stats(coco_api(backend), ann_file, dets, 'segm')
        printed[backend] = [
            line.split('=')[-1].strip()
            for line in out.getvalue().splitlines()
            if line.startswith((' Average Precision', ' Average Recall'))
        ]
    assert len(printed['faster']) == 12 and printed['faster'] == printed['pycocotools']


def test_empty_predictions_give_no_metrics_with_either_backend(synthetic_val):
    gt, _, ann_file = synthetic_val
    samples = detections_to_samples(gt, [])
    for backend in ('pycocotools', 'faster'):
        metrics, stats = evaluate(samples, ann_file, backend)
        assert metrics == {} and stats == {}, backend


# ------------------------------------------------------------ the config key


def test_unknown_backend_is_a_user_error():
    with pytest.raises(UserError, match=r"eval_backend='fast' .*'pycocotools', 'faster'"):
        BackendCocoMetric(eval_backend='fast')
    from mmdet.registry import METRICS

    with pytest.raises(UserError, match=r"eval_backend='fast'"):  # as a config builds it
        METRICS.build(dict(type='BackendCocoMetric', eval_backend='fast'))
    with pytest.raises(UserError, match='use_mp_eval'):
        BackendCocoMetric(eval_backend='faster', use_mp_eval=True)


def test_faster_without_faster_coco_eval_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, 'faster_coco_eval', None)  # import fails
    for make in (
        lambda: BackendCocoMetric(eval_backend='faster'),
        lambda: with_eval_backend(dict(type='CocoMetric'), 'faster'),
    ):
        with pytest.raises(UserError) as e:
            make()
        assert 'pip install faster-coco-eval' in str(e.value)
        assert 'pip install faster-coco-eval' in str(e.value)
    assert BackendCocoMetric().eval_backend == 'pycocotools'


@pytest.mark.slow  # starts a process: seconds
def test_gc_mmdet_and_the_default_backend_need_no_faster_coco_eval(tmp_path):
    """In a fresh interpreter where faster_coco_eval cannot be imported."""
    gt = synthetic_coco_gt(10, seed=2)
    ann_file = tmp_path / 'gt.json'
    ann_file.write_text(json.dumps(gt))
    script = f"""
import sys
sys.modules['faster_coco_eval'] = None
sys.path.insert(0, {osp.join(ROOT, 'tests')!r})
import gc_mmdet
from helpers.eval_backends import detections_to_samples, evaluate
from helpers.synthetic_detections import jitter_detections
import json
gt = json.load(open({str(ann_file)!r}))
metrics, stats = evaluate(detections_to_samples(gt, jitter_detections(gt)), {str(ann_file)!r},
                          'pycocotools')
assert 0 < metrics['coco/bbox_mAP'] < 1 and len(stats['segm']) == 12, metrics
print('default backend ok')
"""
    proc = subprocess.run(
        [sys.executable, '-c', script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert_ok(proc)
    assert 'default backend ok' in proc.stdout


def test_mmdet_names_are_restored_after_evaluating(synthetic_val):
    from mmdet.datasets.api_wrappers import COCO, COCOeval, COCOevalMP
    from mmdet.evaluation.metrics import coco_metric

    gt, dets, ann_file = synthetic_val
    samples = detections_to_samples(gt, dets[:50])
    samples[0]['img_id'] = 10**6  # not in the annotation file: loadRes fails
    for backend in ('pycocotools', 'faster'):
        with pytest.raises(AssertionError, match='do not correspond'):
            evaluate(samples, ann_file, backend)
        assert (coco_metric.COCO, coco_metric.COCOeval, coco_metric.COCOevalMP) == (
            COCO,
            COCOeval,
            COCOevalMP,
        )


# ------------------------------------------------------------ the tool flag


def test_eval_backend_converts_every_coco_metric_of_a_list():
    from mmdet.evaluation.metrics import CocoMetric
    from mmdet.registry import METRICS
    from mmengine.config import Config

    cfg = Config(
        dict(
            test_evaluator=[
                dict(type='CocoMetric', metric=['bbox', 'segm'], classwise=True),
                dict(type='DumpDetResults', out_file_path='preds.pkl'),
                dict(type='mmdet.CocoMetric', metric='bbox', prefix='second'),
                dict(type=CocoMetric, metric='bbox', prefix='third'),
                dict(type='BackendCocoMetric', eval_backend='pycocotools', prefix='fourth'),
                dict(type='VOCMetric', metric='mAP'),
            ]
        )
    )
    before = cfg.test_evaluator.copy()
    out = with_eval_backend(cfg.test_evaluator, 'faster')
    assert cfg.test_evaluator == before  # a copy
    assert [m['type'] for m in out] == [
        'BackendCocoMetric',
        'DumpDetResults',
        'BackendCocoMetric',
        'BackendCocoMetric',
        'BackendCocoMetric',
        'VOCMetric',
    ]
    assert [m.get('eval_backend') for m in out] == [
        'faster',
        None,
        'faster',
        'faster',
        'faster',
        None,
    ]
    assert out[0]['classwise'] is True and out[2]['prefix'] == 'second'
    assert out[1] == before[1] and out[5] == before[5]
    built = METRICS.build(out[0])
    assert type(built) is BackendCocoMetric and built.eval_backend == 'faster'
    # an mmengine Evaluator config, and a single metric
    ev = with_eval_backend(dict(type='Evaluator', metrics=[dict(type='CocoMetric')]), 'pycocotools')
    assert ev['metrics'][0] == dict(type='BackendCocoMetric', eval_backend='pycocotools')
    assert (
        with_eval_backend(Config.fromfile(osp.join(ROOT, GC_CONFIG)).test_evaluator, 'faster')[
            'type'
        ]
        == 'BackendCocoMetric'
    )


def test_eval_backend_without_a_coco_metric_is_an_error():
    with pytest.raises(
        UserError,
        match=r'--eval-backend faster: test_evaluator has no '
        r'CocoMetric .*VOCMetric, DumpDetResults',
    ):
        with_eval_backend(
            [dict(type='VOCMetric'), dict(type='DumpDetResults')], 'faster', option='--eval-backend'
        )
    from mmdet.evaluation.metrics import CocoOccludedSeparatedMetric

    with pytest.raises(UserError):  # a CocoMetric subclass of its own is not switched
        with_eval_backend(dict(type=CocoOccludedSeparatedMetric), 'faster')


def test_test_tool_flag():
    tool = load_script('tools/test.py')
    assert tool.parse_args(['c.py', 'w.pth']).eval_backend is None  # the config decides
    assert tool.parse_args(['c.py', 'w.pth', '--eval-backend', 'faster']).eval_backend == 'faster'
    with pytest.raises(SystemExit):
        tool.parse_args(['c.py', 'w.pth', '--eval-backend', 'fast'])


@pytest.mark.slow
def test_test_tool_with_faster_backend_matches_pycocotools(
    trained_gc, synthetic_root, tmp_path, capsys
):
    """tools/test.py --eval-backend faster on the tiny trained model: its table
    and metrics.json are pycocotools' numbers for the same predictions (the
    dumped --out, evaluated offline), and all 24 statistics agree."""
    import mmengine

    from gc_mmdet.cli.common import format_metrics
    from gc_mmdet.cli.run_logs import last_checkpoint

    work_dir, _ = trained_gc
    out, preds = str(tmp_path / 'test'), str(tmp_path / 'preds.pkl')
    proc = run(
        tool_cmd(
            'test.py',
            GC_CONFIG,
            last_checkpoint(work_dir),
            '--work-dir',
            out,
            '--eval-backend',
            'faster',
            '--out',
            preds,
            # keep every box of the barely trained model, so that AP is not empty
            cfg_options=tiny_overrides(synthetic_root) + ['model.test_cfg.rcnn.score_thr=0.0'],
        )
    )
    assert_ok(proc)
    assert 'COCOeval_opt.evaluate() finished' in proc.stdout  # faster-coco-eval ran
    metrics = json.load(open(osp.join(out, 'metrics.json')))
    ann_file = osp.join(synthetic_root, 'annotations', 'instances_val.json')
    py, fast, delta = compare_backends(mmengine.load(preds), ann_file)
    with capsys.disabled():
        print(
            f'\ntiny trained model, {len(mmengine.load(preds))} val images: '
            f'max |Δ| {delta:.1e}\n' + stats_table(py[1], fast[1])
        )
    assert delta <= TOL
    assert metrics == pytest.approx(py[0], abs=TOL) and metrics.keys() == py[0].keys()
    assert format_metrics(py[0]) in proc.stdout


# ------------------------------------------------------------ the benchmark


def test_benchmark_runs_and_backends_agree():
    bench = load_script('benchmarks/coco_eval_backends.py')
    results = bench.main(
        ['--images', '20', '--categories', '8', '--min-size', '64', '--max-size', '160']
    )
    assert [r['iou_type'] for r in results['rows']] == ['bbox', 'segm']
    assert results['detections'] >= 20 * 100
    for r in results['rows']:
        assert r['max_abs_diff'] <= TOL
        assert r['seconds']['pycocotools'] > 0 and r['seconds']['faster'] > 0


@pytest.mark.slow  # starts a process: seconds
def test_train_tool_flag_switches_the_validation_metric(tmp_path, synthetic_root):
    """tools/train.py --eval-backend reaches val_evaluator: with no COCO
    metric there it stops in one line before anything is built."""
    proc = run(
        tool_cmd(
            'train.py',
            GC_CONFIG,
            '--work-dir',
            str(tmp_path / 'w'),
            '--eval-backend',
            'faster',
            cfg_options=tiny_overrides(synthetic_root) + ['val_evaluator.type=VOCMetric'],
        )
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        'error: --eval-backend faster: val_evaluator has no CocoMetric to evaluate with it '
        '(its metrics: VOCMetric)'
    )
    assert not (tmp_path / 'w').exists() or not any((tmp_path / 'w').iterdir())
