# The demo GC config plus a test hook that freezes the trainer in the middle
# of the save of epoch 2 (set custom_hooks.2.target='last_checkpoint' to
# freeze it inside the last_checkpoint write instead).
_base_ = '../../configs/synthetic/mask-rcnn_r18-half_fpn_gn-all_gc_demo.py'
custom_imports = dict(
    imports=['gc_mmdet', 'tests.helpers.pause_in_save'], allow_failed_imports=False
)
custom_hooks = [
    dict(type='StopOnInvalidLossHook', interval=1),
    dict(type='DeterministicResumeHook'),
    dict(type='PauseInSaveHook', target='epoch_2.pth'),
]
