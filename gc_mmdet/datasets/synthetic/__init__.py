# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The deterministic synthetic COCO instance-segmentation data set.

Three concepts, one module each: :mod:`.render` draws the images and their
instance masks, :mod:`.coco_files` encodes them as COCO files, and
:mod:`.cache` decides where they are written and what may be replaced (never
a file the generator did not make).
"""

from .cache import (
    MARKER_FILE,
    SyntheticFolderError,
    ensure_synthetic_coco,
    generate_synthetic_coco,
    read_synthetic_marker,
)
from .coco_files import GENERATOR_VERSION, encode_segmentation, mask_to_polygons, mask_to_rle
from .render import (
    MIN_VISIBLE_FRACTION,
    MIN_VISIBLE_PIXELS,
    SPLITS,
    SYNTHETIC_CLASSES,
    SYNTHETIC_PALETTE,
    SyntheticImage,
    SyntheticInstance,
    render_synthetic_image,
    synthetic_metainfo,
)

__all__ = [
    'SYNTHETIC_CLASSES',
    'SYNTHETIC_PALETTE',
    'SPLITS',
    'GENERATOR_VERSION',
    'MARKER_FILE',
    'MIN_VISIBLE_FRACTION',
    'MIN_VISIBLE_PIXELS',
    'SyntheticImage',
    'SyntheticInstance',
    'SyntheticFolderError',
    'synthetic_metainfo',
    'render_synthetic_image',
    'mask_to_polygons',
    'mask_to_rle',
    'encode_segmentation',
    'generate_synthetic_coco',
    'ensure_synthetic_coco',
    'read_synthetic_marker',
]
