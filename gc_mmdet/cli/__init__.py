# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The code behind the user-facing scripts of tools/ (training, testing,
comparing GC with its baseline, checking what GC covers), importable from an
installed package; what only works in a checkout is in tools/repo_tools."""
