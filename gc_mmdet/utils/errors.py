# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Errors the tools report as one line instead of a stack trace."""


class UserError(Exception):
    """A problem with the user's input (a path, a config key, a download):
    the tools print ``error: <message>`` and exit with status 2."""
