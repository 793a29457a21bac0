# DINO-4scale R50 12e on COCO (AdamW): mmdet's config, baseline of the GC pair.
_base_ = ['mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py', '../_base_/gc_mmdet_runtime.py']
# a kill during a checkpoint save loses nothing (gc_mmdet.engine.hooks.SafeCheckpointHook)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
