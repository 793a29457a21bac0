# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Data sets: a deterministic synthetic COCO instance-segmentation set."""

from .synthetic import (
    GENERATOR_VERSION,
    MARKER_FILE,
    SPLITS,
    SYNTHETIC_CLASSES,
    SYNTHETIC_PALETTE,
    SyntheticFolderError,
    SyntheticImage,
    SyntheticInstance,
    encode_segmentation,
    ensure_synthetic_coco,
    generate_synthetic_coco,
    mask_to_polygons,
    mask_to_rle,
    read_synthetic_marker,
    render_synthetic_image,
    synthetic_metainfo,
)
from .synthetic_coco_dataset import SyntheticCocoDataset
from .transforms import GuardedLoadImageFromFile, SeedPerSample

__all__ = [
    'SYNTHETIC_CLASSES',
    'SYNTHETIC_PALETTE',
    'SPLITS',
    'GENERATOR_VERSION',
    'MARKER_FILE',
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
    'SyntheticCocoDataset',
    'GuardedLoadImageFromFile',
    'SeedPerSample',
]
