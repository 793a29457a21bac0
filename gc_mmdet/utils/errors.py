# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Errors the tools report as one line instead of a stack trace."""


class UserError(Exception):
    """A problem with the user's input (a path, a config key, a download):
    the tools print ``error: <message>`` and exit with status 2."""


class ConfigKeyError(UserError, ValueError):
    """A config key that the build cannot honour as written (a key no part
    reads, a type that is not registered). Raised while the Runner builds,
    before the first iteration; a ``ValueError`` for code that builds through
    mmengine directly, one line for the tools."""


class SampleLoadError(Exception):
    """A training sample that failed to load mid-run (a file removed or
    corrupted after the data check, a disk error). Its message is
    ``'<image path>: <cause>'``; it survives the trip from a data loader
    worker, which re-raises it with the worker's traceback in the message,
    and :meth:`describe` recovers the original message from that."""

    def describe(self) -> str:
        lines = [line for line in str(self).splitlines() if line.strip()]
        last = lines[-1] if lines else ''
        marker = f'{type(self).__name__}: '
        return last.split(marker, 1)[1] if marker in last else last
