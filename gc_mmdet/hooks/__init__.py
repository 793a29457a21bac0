# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""mmengine hooks; importing this package registers them in ``HOOKS``."""
from .gc_stats_hook import GCStatsHook

__all__ = ['GCStatsHook']
