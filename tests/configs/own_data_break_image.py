# The own-data example config plus a test hook that empties an image file
# after epoch 1 (custom_hooks.2.path: which one), as if it broke mid-run.
_base_ = '../../configs/own_data/mask-rcnn_r18-half_fpn_gn-all_gc_own-coco.py'
custom_imports = dict(
    imports=['gc_mmdet', 'tests.helpers.break_image_hook'], allow_failed_imports=False
)
custom_hooks = [
    dict(type='StopOnInvalidLossHook', interval=1),
    dict(type='DeterministicResumeHook'),
    dict(type='BreakImageHook', path='', after_epoch=1),
]
