# synthetic_preempt.py as an iteration-based run: an InfiniteSampler, 6
# iterations, no evaluation; a test hook counts the samples loaded.
_base_ = './synthetic_preempt.py'
train_dataloader = dict(
    num_workers=0, persistent_workers=False, sampler=dict(type='InfiniteSampler', shuffle=True)
)
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=6, val_interval=100)
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2)]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=100))
log_processor = dict(by_epoch=False)
custom_hooks = [
    dict(type='DeterministicResumeHook'),
    dict(type='SaveRankStateHook'),
    dict(type='NoticeAtIterHook'),
    dict(type='CountLoadsHook'),
]
