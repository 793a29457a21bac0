# The synthetic GC config plus a test hook that saves each rank's weights.
_base_ = '../../configs/synthetic/mask-rcnn_r50_fpn_gc_synthetic.py'
custom_imports = dict(
    imports=['gc_mmdet', 'tests.helpers.rank_state_hook'], allow_failed_imports=False
)
custom_hooks = [
    dict(type='StopOnInvalidLossHook', interval=1),
    dict(type='DeterministicResumeHook'),
    dict(type='SaveRankStateHook'),
]
