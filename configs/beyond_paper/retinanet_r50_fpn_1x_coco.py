# RetinaNet R50-FPN 1x on COCO: mmdet's config, baseline of the GC pair.
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_1x_coco.py', '../_base_/gc_mmdet_runtime.py']
# a kill during a checkpoint save loses nothing (gc_mmdet.engine.hooks.SafeCheckpointHook)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
