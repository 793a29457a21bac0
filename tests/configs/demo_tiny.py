# make demo's steps in seconds (tests/test_tools/test_make_demo.py): the demo
# config on 8 training images for one epoch of 2 iterations, then one evaluation.
_base_ = '../../configs/synthetic/mask-rcnn_r18-half_fpn_gn-all_gc_demo.py'
data_root = 'data/synthetic_coco_demo_tiny/'
synthetic = dict(num_train=8, num_val=4, size=128, seed=0)
train_dataloader = dict(dataset=dict(data_root=data_root, synthetic=synthetic))
val_dataloader = dict(dataset=dict(data_root=data_root, synthetic=synthetic))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1, val_interval=1)
param_scheduler = [dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=2)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=1))
