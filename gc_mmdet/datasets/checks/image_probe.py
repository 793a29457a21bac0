# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Cheap checks that an image file will load, and at which size.

:func:`probe_file` reads a file's header (Pillow parses it without decoding
the pixels) and its last bytes, so that a truncated download is told from a
complete file without decoding it: a JPEG ends with its end-of-image marker
``FF D9``, a PNG with its ``IEND`` chunk. A format other than JPEG and PNG,
or a file Pillow cannot parse, is decoded in full with OpenCV, which is what
mmcv's ``LoadImageFromFile`` uses. The size is the one the loader sees: with
its default ``color_type='color'`` OpenCV applies the EXIF orientation, so an
image stored 640x480 with orientation 6 loads as 480x640.

Example:
    >>> w, h = loaded_size(probe_file('data/coco/train2017/000000000009.jpg'))  # doctest: +SKIP
"""

import os
from typing import Tuple

import cv2
import numpy as np
from PIL import Image

__all__ = ['ImageFault', 'probe_file', 'loaded_size']

# EXIF orientations that turn the stored image by 90 degrees
_TRANSPOSED = (5, 6, 7, 8)
_JPEG_TAIL = 4096  # bytes searched for FF D9: some cameras append data after it
_PNG_END = b'IEND\xaeB`\x82'


class ImageFault(Exception):
    """An image that will not load as it should.

    Attributes:
        kind: ``'missing-image'``, ``'empty-image'``, ``'unreadable-image'``
            or ``'truncated-image'``.
    """

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def probe_file(path: str) -> Tuple[int, int, int]:
    """Header facts of one image file, cheap enough for a whole data set.

    Returns:
        tuple: ``(width, height, exif_orientation)`` as stored, before the
        orientation is applied (1 when there is none).

    Raises:
        ImageFault: the file is missing, empty, truncated or not an image.
    """
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise ImageFault('missing-image', 'file not found') from None
    if size == 0:
        raise ImageFault('empty-image', 'file is empty (0 bytes)')

    with open(path, 'rb') as f:
        try:
            with Image.open(f) as im:
                fmt, (w, h) = im.format, im.size
                orientation = im.getexif().get(0x0112, 1) if fmt == 'JPEG' else 1
        except Exception:  # noqa: BLE001  Pillow gives up: ask the loader's decoder
            fmt = None
        if fmt == 'JPEG':
            f.seek(max(0, size - _JPEG_TAIL))
            if b'\xff\xd9' not in f.read():
                raise ImageFault(
                    'truncated-image', f'JPEG is truncated ({size} bytes, no end-of-image marker)'
                )
            return w, h, orientation if orientation in range(1, 9) else 1
        if fmt == 'PNG':
            f.seek(max(0, size - len(_PNG_END)))
            if f.read() != _PNG_END:
                raise ImageFault(
                    'truncated-image', f'PNG is truncated ({size} bytes, no IEND chunk)'
                )
            return w, h, 1
    return _decode_size(path)


def _decode_size(path: str) -> Tuple[int, int, int]:
    """Decode in full as the loader does (OpenCV, colour, EXIF applied)."""

    img = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ImageFault('unreadable-image', 'not an image OpenCV can decode')
    return int(img.shape[1]), int(img.shape[0]), 1


def loaded_size(facts: Tuple[int, int, int], apply_orientation: bool = True) -> Tuple[int, int]:
    """The ``(width, height)`` the loader gives an image whose
    :func:`probe_file` facts are ``facts``: an EXIF orientation of 5-8 turns
    it by 90 degrees when the loader applies orientation (mmcv does for
    ``color_type='color'`` and ``'grayscale'``)."""
    w, h, orientation = facts
    if apply_orientation and orientation in _TRANSPOSED:
        return h, w
    return w, h
