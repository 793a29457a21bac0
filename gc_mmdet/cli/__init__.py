# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Code the command-line scripts in tools/ share; each module is named
after its script."""
