# Train on your own COCO-format data: the demo config (make demo) with the
# data set, its classes and the heads' num_classes changed, nothing else.
# Folder layout: DATA_ROOT/annotations/instances_{train,val}.json, train/, val/.
_base_ = '../synthetic/mask-rcnn_r18-half_fpn_gn-all_gc_demo.py'

data_root = 'data/my_coco/'
# names as in the files' "categories" (their ids may have gaps, as COCO's do)
classes = ('apple', 'pear', 'plum')
metainfo = dict(classes=classes)
num_classes = len(classes)

# _delete_=True drops the synthetic data set's keys (synthetic=, its type)
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CocoDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline={{_base_.train_pipeline}},
    )
)
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CocoDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        test_mode=True,
        pipeline={{_base_.test_pipeline}},
    )
)
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

model = dict(
    roi_head=dict(bbox_head=dict(num_classes=num_classes), mask_head=dict(num_classes=num_classes))
)
