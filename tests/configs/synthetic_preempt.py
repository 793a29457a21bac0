# The rank-state config plus a test hook that sends a preemption notice at a
# chosen iteration (GC_TEST_NOTICE, tests/helpers/notice_hook.py).
_base_ = './synthetic_rank_state.py'
custom_imports = dict(
    imports=['gc_mmdet', 'tests.helpers.rank_state_hook', 'tests.helpers.notice_hook'],
    allow_failed_imports=False,
)
custom_hooks = [
    dict(type='StopOnInvalidLossHook', interval=1),
    dict(type='DeterministicResumeHook'),
    dict(type='SaveRankStateHook'),
    dict(type='NoticeAtIterHook'),
]
