# Table 9 "R50GN+WS": mmdet's gn+ws/mask-rcnn_r50_fpn_gn-ws-all_2x_coco.py.
# mmengine's `mmdet::` syntax rejects the '+' of the folder name
# (it must match r'\w*::\w*/'), so the path enters through a sibling folder;
# the file and its own relative _base_ resolve unchanged.
_base_ = [
    'mmdet::mask_rcnn/../gn+ws/mask-rcnn_r50_fpn_gn-ws-all_2x_coco.py',
    '../_base_/gc_mmdet_runtime.py',
]
# a kill during a checkpoint save loses nothing (gc_mmdet.engine.hooks.SafeCheckpointHook)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
