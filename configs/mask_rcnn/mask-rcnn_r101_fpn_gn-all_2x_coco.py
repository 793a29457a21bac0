_base_ = ['mmdet::gn/mask-rcnn_r101_fpn_gn-all_2x_coco.py', '../_base_/gc_mmdet_runtime.py']
# a kill during a checkpoint save loses nothing (gc_mmdet.engine.hooks.SafeCheckpointHook)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
