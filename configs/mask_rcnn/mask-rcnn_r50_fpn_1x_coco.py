_base_ = ['mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', '../_base_/gc_mmdet_runtime.py']
# a kill during a checkpoint save loses nothing (gc_mmdet.engine.hooks.SafeCheckpointHook)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
