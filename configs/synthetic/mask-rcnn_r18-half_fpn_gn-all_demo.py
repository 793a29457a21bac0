# The demo's model: Mask R-CNN + FPN narrow enough to learn the synthetic set
# from scratch on a 2-core CPU in minutes. It is the synthetic Table 9 R50
# config with only what a CPU budget without pretrained weights forces:
# a ResNet-18 layout at half width, GN everywhere (mmdet's gn-all row) and
# trainable from the stem, 64-channel FPN and heads, 160 px images, more
# images and iterations, and a schedule to match. See docs/demo.md.
_base_ = './mask-rcnn_r50_fpn_synthetic.py'

# ------------------------------------------------------------------ data
data_root = 'data/synthetic_coco_demo/'
synthetic = dict(num_train=800, num_val=64, size=160, seed=0)
img_scale = (160, 160)
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
    batch_size=4, dataset=dict(data_root=data_root, synthetic=synthetic, pipeline=train_pipeline)
)
val_dataloader = dict(
    batch_size=8, dataset=dict(data_root=data_root, synthetic=synthetic, pipeline=test_pipeline)
)
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

# ------------------------------------------------------------------ model
norm_cfg = dict(type='GN', num_groups=8, requires_grad=True)
channels = 64
model = dict(
    backbone=dict(depth=18, base_channels=32, norm_cfg=norm_cfg, norm_eval=False, frozen_stages=-1),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=channels, norm_cfg=norm_cfg),
    rpn_head=dict(in_channels=channels, feat_channels=channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels),
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead',
            in_channels=channels,
            conv_out_channels=channels,
            fc_out_channels=256,
            norm_cfg=norm_cfg,
        ),
        mask_roi_extractor=dict(out_channels=channels),
        mask_head=dict(in_channels=channels, conv_out_channels=channels, norm_cfg=norm_cfg),
    ),
    train_cfg=dict(rpn_proposal=dict(nms_pre=500, max_per_img=200)),
)

# ------------------------------------------------------------------ schedule
max_epochs = 7  # 200 iterations of 4 images each
train_cfg = dict(max_epochs=max_epochs, val_interval=2)  # and after the last epoch
optim_wrapper = dict(optimizer=dict(lr=0.02))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=200),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[6], gamma=0.1),
]
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1)
)
custom_hooks = [
    dict(type='StopOnInvalidLossHook', interval=1),
    dict(type='DeterministicResumeHook'),
]
