# The demo's GC config plus a test hook that saves each rank's weights; 2
# images per process, so that 8 images on 2 ranks make 2 iterations.
_base_ = '../../configs/synthetic/mask-rcnn_r18-half_fpn_gn-all_gc_demo.py'
custom_imports = dict(
    imports=['gc_mmdet', 'tests.helpers.rank_state_hook'], allow_failed_imports=False
)
train_dataloader = dict(batch_size=2)
custom_hooks = [
    dict(type='StopOnInvalidLossHook', interval=1),
    dict(type='DeterministicResumeHook'),
    dict(type='SaveRankStateHook'),
]
