"""The table configs: load, build, GC coverage, baseline/GC pairs, numbers."""

import glob
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from torch import nn

import gc_mmdet  # noqa: F401
from gc_mmdet.engine.optimizers import gc_handle_of
from gc_mmdet.utils import without_pretrained
from helpers.synthetic import ROOT, run

RESULTS = json.load(open(osp.join(ROOT, 'configs', 'paper_results.json')))['rows']
TABLE_ROWS = [k for k, r in RESULTS.items() if 'variant_of' not in r]
PAIRS = [(r['baseline_config'], r['gc_config']) for r in RESULTS.values()]
ALL_CONFIGS = sorted(c for pair in PAIRS for c in pair)


def _load(path):
    return Config.fromfile(osp.join(ROOT, path))


def test_every_paper_row_is_covered():
    assert len(TABLE_ROWS) == 11  # 4 in Table 8, 7 in Table 9
    assert sum(r['table'] == 8 for r in RESULTS.values() if 'variant_of' not in r) == 4
    assert len(set(ALL_CONFIGS)) == 26  # 22 table configs + 4 legacy
    on_disk = {
        osp.relpath(p, ROOT)
        for p in glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))
        if '_base_' not in p
        and 'synthetic' not in p
        and 'own_data' not in p
        and 'beyond_paper' not in p
    }
    assert on_disk == set(ALL_CONFIGS)
    for row in RESULTS.values():
        for side in ('baseline', 'gc'):
            assert set(row['paper'][side]['bbox']) == {'AP', 'AP50', 'AP75'}
            assert ('segm' in row['paper'][side]) == (row['model'] == 'Mask R-CNN')
        # GC improved every row in the paper
        assert row['paper']['gc']['bbox']['AP'] > row['paper']['baseline']['bbox']['AP']


@pytest.mark.parametrize('baseline,gc_config', PAIRS)
def test_pair_differs_only_by_gc(baseline, gc_config):
    a, b = _load(baseline).to_dict(), _load(gc_config).to_dict()
    assert b['optim_wrapper'].pop('constructor') == 'GCOptimWrapperConstructor'
    assert b['optim_wrapper'].pop('gc_cfg') == dict(layers='conv_fc')
    assert 'constructor' not in a['optim_wrapper']
    assert a == b


@pytest.mark.parametrize('path', ALL_CONFIGS)
def test_config_carries_imports_and_invalid_loss_hook(path):
    cfg = _load(path)
    assert cfg.custom_imports.imports == ['gc_mmdet']
    assert dict(type='StopOnInvalidLossHook', interval=1) in cfg.custom_hooks
    assert dict(type='DeterministicResumeHook') in cfg.custom_hooks
    assert cfg.optim_wrapper.optimizer.lr == 0.02
    assert cfg.auto_scale_lr.base_batch_size == 16
    epochs = 24 if '_2x_' in path else 12
    assert cfg.train_cfg.max_epochs == epochs
    # the real configs keep their pretrained weights
    assert any(
        c.startswith(('torchvision://', 'open-mmlab://'))
        for _, c in gc_mmdet.utils.find_pretrained(cfg)
    )


def _expected_gc(model):
    n = 0
    for m in model.modules():
        w = getattr(m, 'weight', None)
        if (
            w is not None
            and w.requires_grad
            and isinstance(m, (nn.modules.conv._ConvNd, nn.Linear))
        ):
            n += 1
    return n


@pytest.mark.parametrize('path', [p for p in ALL_CONFIGS if '_gc_' in p])
def test_gc_config_builds_and_centralizes_every_conv_fc(path):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules()
    cfg = _load(path)
    model = MODELS.build(without_pretrained(cfg.model))
    with DefaultScope.overwrite_default_scope('mmdet'):
        ow = build_optim_wrapper(model, cfg.optim_wrapper)
    kinds = [t.kind for t in gc_handle_of(ow).targets]
    assert len(kinds) == _expected_gc(model) > 50
    # 2 shared fcs + cls + reg; the 4-conv-1-fc head (4c1f, GN rows) has 1 fc
    shared4conv1fc = '4conv1fc' in path or 'gn' in path
    assert kinds.count('linear') == (3 if shared4conv1fc else 4)
    if 'mask' in path:
        assert kinds.count('conv_transpose') == 1
    if 'gn-ws' in path:  # mmcv's ConvWS2d counts as a convolution
        from mmcv.cnn.bricks import ConvWS2d

        assert any(isinstance(m, ConvWS2d) for m in model.modules())


@pytest.mark.slow  # starts a process: seconds
@pytest.mark.parametrize(
    'tool,args',
    [
        ('train.py', ['configs/nope.py']),
        ('test.py', ['configs/nope.py', 'x.pth']),
        ('test.py', ['configs/mask_rcnn_r50_gc.py', 'missing.pth']),
        ('train.py', ['configs/mask_rcnn_r50_gc.py', '--resume', 'missing.pth']),
        (
            'train.py',
            ['configs/mask_rcnn_r50_gc.py', '--cfg-options', 'optim_wrapper.gc_cfg.layers=fc'],
        ),
        pytest.param(
            'train.py',
            ['configs/mask_rcnn_r50_gc.py', '--amp'],
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason='--amp is valid with a GPU'),
        ),
    ],
)
def test_tools_reject_bad_input_in_one_line(tool, args):
    cmd = [sys.executable, osp.join(ROOT, 'tools', tool), *args]
    if args[0] == 'configs/nope.py':
        # a fresh interpreter, so that what the imports print counts too
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    else:
        proc = run(cmd, timeout=120)  # a fork of the warm interpreter: the imports done
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and 'Traceback' not in proc.stderr, proc.stderr
    assert lines[0].startswith('error:')


@pytest.mark.slow  # starts a process: seconds
def test_offline_pretrained_is_reported_at_once(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            osp.join(ROOT, 'tools', 'train.py'),
            'configs/faster_rcnn_r50_gc.py',
            '--work-dir',
            str(tmp_path),
            '--cfg-options',
            'model.backbone.init_cfg.checkpoint=https://127.0.0.1:9/resnet50.pth',
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 2
    assert 'https://127.0.0.1:9/resnet50.pth (model.backbone.init_cfg.checkpoint)' in proc.stderr
    assert '--cfg-options model.backbone.init_cfg.checkpoint=/path/to/resnet50.pth' in proc.stderr


@pytest.mark.parametrize(
    'baseline,gc_config',
    [
        (
            f'configs/synthetic/{m}_r50_fpn_synthetic.py',
            f'configs/synthetic/{m}_r50_fpn_gc_synthetic.py',
        )
        for m in ('mask-rcnn', 'faster-rcnn')
    ]
    + [
        (
            'configs/synthetic/mask-rcnn_r18-half_fpn_gn-all_demo.py',
            'configs/synthetic/mask-rcnn_r18-half_fpn_gn-all_gc_demo.py',
        )
    ],
)
def test_synthetic_pair_differs_only_by_gc(baseline, gc_config):
    test_pair_differs_only_by_gc(baseline, gc_config)
    cfg = _load(gc_config)
    assert cfg.model.backbone.init_cfg is None
    assert dict(type='StopOnInvalidLossHook', interval=1) in cfg.custom_hooks


def _synthetic_overrides(table_model, synthetic_model):
    """The table model with the synthetic config's classes, init_cfg and
    proposal counts (and nothing else of it) applied."""
    train, test = synthetic_model['train_cfg'], synthetic_model['test_cfg']
    counts = ('nms_pre', 'max_per_img')
    expected = Config(dict(model=table_model))
    expected.merge_from_dict(
        dict(
            model=dict(
                backbone=dict(init_cfg=None),
                roi_head=dict(bbox_head=dict(num_classes=5)),
                train_cfg=dict(
                    rpn_proposal={k: train['rpn_proposal'][k] for k in counts},
                    rcnn=dict(sampler=dict(num=train['rcnn']['sampler']['num'])),
                ),
                test_cfg=dict(
                    rpn={k: test['rpn'][k] for k in counts},
                    rcnn=dict(max_per_img=test['rcnn']['max_per_img']),
                ),
            )
        )
    )
    return expected.to_dict()['model']


@pytest.mark.parametrize(
    'model,table',
    [
        ('mask-rcnn', 'configs/mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'),
        ('faster-rcnn', 'configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'),
    ],
)
def test_synthetic_model_is_the_table_model(model, table):
    """Only classes, init_cfg and proposal counts differ from Table 8/9's row."""
    syn = _load(f'configs/synthetic/{model}_r50_fpn_synthetic.py').to_dict()
    tab = _load(table).to_dict()
    if model == 'mask-rcnn':
        tab['model']['roi_head']['mask_head']['num_classes'] = 5
    else:
        # absent from the table config: DetDataPreprocessor's default
        assert syn['model']['data_preprocessor'].pop('pad_mask') is False
        assert syn['model']['roi_head'].pop('mask_head') is None
        assert syn['model']['roi_head'].pop('mask_roi_extractor') is None
        assert syn['val_evaluator']['metric'] == 'bbox'
        pipelines = [
            syn['train_dataloader']['dataset']['pipeline'],
            syn['val_dataloader']['dataset']['pipeline'],
        ]
        assert all(not t.get('with_mask', False) for p in pipelines for t in p)
    # Faster R-CNN's rcnn cfgs have no mask_size / mask_thr_binary; the
    # synthetic Faster config keeps Mask R-CNN's, unread without a mask head
    for cfg in (syn, tab):
        cfg['model']['train_cfg']['rcnn'].pop('mask_size', None)
        cfg['model']['test_cfg']['rcnn'].pop('mask_thr_binary', None)
    assert syn['model'] == _synthetic_overrides(tab['model'], syn['model'])
    assert syn['model']['train_cfg'] != tab['model']['train_cfg']


BEYOND_PAIRS = [
    (f'configs/beyond_paper/{b}.py', f'configs/beyond_paper/{g}.py')
    for b, g in (
        ('retinanet_r50_fpn_1x_coco', 'retinanet_r50_fpn_gc_1x_coco'),
        ('cascade-mask-rcnn_r50_fpn_1x_coco', 'cascade-mask-rcnn_r50_fpn_gc_1x_coco'),
        ('dino-4scale_r50_12e_coco', 'dino-4scale_r50_gc_12e_coco'),
    )
]


@pytest.mark.parametrize('baseline,gc_config', BEYOND_PAIRS)
def test_beyond_paper_pairs_differ_only_by_gc_and_build(baseline, gc_config):
    a, b = _load(baseline).to_dict(), _load(gc_config).to_dict()
    assert b['optim_wrapper'].pop('constructor') == 'GCOptimWrapperConstructor'
    gc_cfg = b['optim_wrapper'].pop('gc_cfg')
    assert a == b
    adaptive = a['optim_wrapper']['optimizer']['type'] == 'AdamW'
    assert gc_cfg == dict(layers='conv_fc', **({'location': 'update'} if adaptive else {}))
    cfg = _load(gc_config)
    assert cfg.custom_imports.imports == ['gc_mmdet']
    assert dict(type='StopOnInvalidLossHook', interval=1) in cfg.custom_hooks
    from mmdet.registry import MODELS

    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(without_pretrained(cfg.model))
        ow = build_optim_wrapper(model, cfg.optim_wrapper)
    kinds = [t.kind for t in gc_handle_of(ow).targets]
    assert kinds.count('conv') > 40
    if 'dino' in gc_config:
        assert kinds.count('attention') == 6  # the decoder's self-attention in_proj
        assert 'not a known layer' not in gc_handle_of(ow).summary()


EVERY_CONFIG = sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p
)


@pytest.mark.parametrize('path', EVERY_CONFIG)
def test_every_config_saves_checkpoints_safely(path):
    """Also under mmdet's own tools/train.py: a kill during a save leaves a
    complete checkpoint to resume from (tests/test_engine/test_hooks/test_checkpoint_safety.py)."""
    hook = _load(path).default_hooks.checkpoint
    assert hook.type == 'SafeCheckpointHook'
    assert hook.interval >= 1
