# Shared by every gc_mmdet config, baseline and GC alike, so that a pair
# differs only in its optimizer wrapper.
# Import gc_mmdet so that mmdet's own tools/train.py finds its modules too.
custom_imports = dict(imports=['gc_mmdet'], allow_failed_imports=False)
custom_hooks = [
    # stop at the first NaN/inf loss with a clear message, not hours later
    dict(type='StopOnInvalidLossHook', interval=1),
    # a run resumed with --resume ends with the same weights as one that
    # was never interrupted
    dict(type='DeterministicResumeHook'),
    # a preemption notice (SIGTERM, SIGUSR1) saves the iteration just trained,
    # and a checkpoint taken mid-epoch resumes at its next batch
    dict(type='PreemptionHook'),
]
