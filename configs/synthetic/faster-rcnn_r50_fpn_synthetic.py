# Faster R-CNN R50-FPN (Table 8's baseline) on the synthetic COCO data set.
# mmdet's Faster R-CNN is its Mask R-CNN without the mask branch, so this is
# the synthetic Mask R-CNN config (same data, schedule and proposal counts)
# with the mask branch, mask annotations and segm metric removed; its model
# equals the Table 8 config's (tests/test_project/test_configs.py checks it).
_base_ = './mask-rcnn_r50_fpn_synthetic.py'

model = dict(
    type='FasterRCNN',
    data_preprocessor=dict(pad_mask=False),  # DetDataPreprocessor's default
    roi_head=dict(mask_roi_extractor=None, mask_head=None),
    # Faster R-CNN's RoI assigner (Mask R-CNN's matches low-quality boxes);
    # mask_size and mask_thr_binary stay, unread without a mask head
    train_cfg=dict(rcnn=dict(assigner=dict(match_low_quality=False))),
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale={{_base_.img_scale}}, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale={{_base_.img_scale}}, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'),
    ),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(metric='bbox')
test_evaluator = val_evaluator
