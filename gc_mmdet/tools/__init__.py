# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Shared pieces of the command-line tools in tools/."""
