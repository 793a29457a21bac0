# Mask R-CNN R50-FPN (Table 9's baseline) on the synthetic COCO data set,
# trained from scratch on a CPU in minutes. Only data, classes, image size,
# schedule, proposal counts and init_cfg differ from the table config.
_base_ = '../mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'

# ------------------------------------------------------------------ data
data_root = 'data/synthetic_coco/'
# generated on first use (gc_mmdet.datasets.ensure_synthetic_coco)
synthetic = dict(num_train=64, num_val=16, size=256, seed=0)
img_scale = (256, 256)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'),
    ),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        type='SyntheticCocoDataset',
        data_root=data_root,
        synthetic=synthetic,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        type='SyntheticCocoDataset',
        data_root=data_root,
        synthetic=synthetic,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

# ------------------------------------------------------------------ model
num_classes = 5  # len(gc_mmdet.datasets.SYNTHETIC_CLASSES)
model = dict(
    backbone=dict(init_cfg=None),  # from scratch: nothing to download
    roi_head=dict(bbox_head=dict(num_classes=num_classes), mask_head=dict(num_classes=num_classes)),
    # a few objects per small image need far fewer proposals than COCO
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300), rcnn=dict(sampler=dict(num=64))
    ),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(max_per_img=20)),
)

# ------------------------------------------------------------------ schedule
max_epochs = 12  # 32 iterations each
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
optim_wrapper = dict(
    optimizer=dict(lr=0.01),
    # from scratch, lr 0.02 without clipping diverged within ~40 iterations
    clip_grad=dict(max_norm=10, norm_type=2),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[10], gamma=0.1),
]
default_hooks = dict(logger=dict(interval=8), checkpoint=dict(interval=1, max_keep_ckpts=2))
randomness = dict(seed=0)
custom_hooks = [
    dict(type='StopOnInvalidLossHook', interval=1),
    dict(type='DeterministicResumeHook'),
    # gradient norm / max before and after GC (baseline runs: what GC would do)
    dict(type='GCStatsHook', interval=4),
]
