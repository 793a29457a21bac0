# The paper trained with mmdetection v1; mmdet's legacy_1.x config restores
# v1's anchors, box coder, losses and RoIAlign for a closer baseline.
# mmengine's `mmdet::` syntax rejects the '.' in 'legacy_1.x' (it must match
# r'\w*::\w*/'), so the path enters through a sibling folder.
_base_ = [
    'mmdet::mask_rcnn/../legacy_1.x/mask-rcnn_r50_fpn_1x_coco_v1.py',
    '../_base_/gc_mmdet_runtime.py',
]
# a kill during a checkpoint save loses nothing (gc_mmdet.engine.hooks.SafeCheckpointHook)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
