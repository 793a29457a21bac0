_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_x101-32x4d_fpn_1x_coco.py',
    '../_base_/gc_mmdet_runtime.py',
]
# a kill during a checkpoint save loses nothing (gc_mmdet.engine.hooks.SafeCheckpointHook)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
