"""mmpretrain for the tests of mmdet's ConvNeXt configs, from the folder that
tools/setup/test_extra.sh installs it into (``make mmpretrain-extra``),
not from the environment."""

import os
import sys

import pytest

from helpers.synthetic import ROOT

MMPRETRAIN_LIB = os.path.join(ROOT, '.venv-mmpretrain-lib')
#: skip where the extra is not installed (``make test`` installs it)
needs_mmpretrain = pytest.mark.skipif(
    not os.path.isfile(os.path.join(MMPRETRAIN_LIB, '.complete')),
    reason='mmpretrain extra not installed: make mmpretrain-extra',
)


def use_mmpretrain() -> None:
    """Put the extra on the path, after the environment (its torch, mmcv and
    numpy win), and import mmpretrain's models so its registries are filled."""
    if MMPRETRAIN_LIB not in sys.path:
        sys.path.append(MMPRETRAIN_LIB)
    import mmpretrain.models  # noqa: F401
