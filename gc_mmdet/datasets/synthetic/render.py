# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Rendering of the synthetic shapes images (no file I/O).

Every image shows a few filled geometric shapes (:data:`SYNTHETIC_CLASSES`)
with random colours, sizes, positions and orientations on a random textured
background (colour gradient, faint sinusoidal stripes and pixel noise). Shapes
are painted in order, so later shapes occlude earlier ones; the mask kept for
an instance is exactly the set of its pixels that remain visible in the
image. Instances that would be mostly hidden are not painted at all, so the
image never shows an unannotated shape and every annotated shape keeps enough
of its outline to be recognisable.

The difficulty is set so that a Mask R-CNN + FPN trained from scratch on a CPU
learns it (see ``configs/synthetic``): the first version of this generator
also drew clutter lines, stronger stripes and noise, and kept shapes of which
only 10 % remained visible.

Rendering is a pure function of ``(seed, split, index, size, min_objects,
max_objects)``: every image has its own random streams.
"""

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

#: Names of the shape categories; category ``id`` is the 1-based index.
SYNTHETIC_CLASSES: Tuple[str, ...] = ('circle', 'square', 'triangle', 'ellipse', 'star')

#: Visualisation colours (RGB), one per class.
SYNTHETIC_PALETTE: Tuple[Tuple[int, int, int], ...] = (
    (220, 20, 60),
    (0, 130, 200),
    (60, 180, 75),
    (255, 165, 0),
    (145, 30, 180),
)

#: The splits written, with the integer mixed into the per-image seed.
SPLITS: Tuple[str, ...] = ('train', 'val')

#: An instance is dropped (not painted, not annotated) when fewer than this
#: many of its pixels would remain visible ...
MIN_VISIBLE_PIXELS = 16
#: ... or when less than this fraction of its full area would remain visible.
MIN_VISIBLE_FRACTION = 0.5

#: Probability that a shape is placed next to an earlier one (so that it
#: overlaps or occludes it) rather than anywhere in the image.
NEAR_PLACEMENT_PROB = 0.4


def synthetic_metainfo() -> dict:
    """Return the mmdet ``metainfo`` of the synthetic data set.

    Returns:
        dict: ``dict(classes=SYNTHETIC_CLASSES, palette=[...])``, ready for
        ``CocoDataset(metainfo=...)`` in a config.
    """
    return dict(classes=SYNTHETIC_CLASSES, palette=[tuple(colour) for colour in SYNTHETIC_PALETTE])


@dataclass
class SyntheticInstance:
    """One shape of a rendered synthetic image.

    Args:
        label (int): 0-based class index into :data:`SYNTHETIC_CLASSES`.
        full_mask (np.ndarray): ``(H, W)`` bool mask of the whole shape
            (clipped to the image), as if nothing occluded it.
        visible_mask (np.ndarray): ``(H, W)`` bool mask of the pixels of the
            shape that are visible after later shapes have been painted.
        colour (tuple): Base BGR colour the shape was painted with.
    """

    label: int
    full_mask: np.ndarray
    visible_mask: np.ndarray
    colour: Tuple[int, int, int]

    @property
    def category_id(self) -> int:
        """int: 1-based COCO category id."""
        return self.label + 1

    @property
    def full_area(self) -> int:
        """int: Pixel count of the unoccluded shape."""
        return int(self.full_mask.sum())

    @property
    def visible_area(self) -> int:
        """int: Pixel count of the visible part of the shape."""
        return int(self.visible_mask.sum())

    @property
    def occluded(self) -> bool:
        """bool: Whether a later shape hides part of this one."""
        return self.visible_area < self.full_area


@dataclass
class SyntheticImage:
    """A rendered synthetic image and its (kept) instances.

    Args:
        image (np.ndarray): ``(H, W, 3)`` uint8 BGR image.
        instances (list[SyntheticInstance]): Painted instances, in painting
            order (later ones occlude earlier ones).
        num_dropped (int): Shapes that were sampled but not painted because
            too little of them would have remained visible.
    """

    image: np.ndarray
    instances: List[SyntheticInstance] = field(default_factory=list)
    num_dropped: int = 0


def _split_code(split: str) -> int:
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    return SPLITS.index(split)


def image_rng(seed: int, split: str, index: int, stream: int) -> np.random.Generator:
    """Independent generator per (seed, split, image, purpose)."""
    return np.random.default_rng([int(seed), _split_code(split), int(index), int(stream)])


def _random_colour(rng: np.random.Generator) -> Tuple[int, int, int]:
    """A saturated random BGR colour."""
    hsv = np.array(
        [[[rng.integers(0, 180), rng.integers(90, 256), rng.integers(90, 256)]]], dtype=np.uint8
    )
    bgr = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def _render_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Gradient + faint stripes + noise, as float32 BGR."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = rng.uniform(50, 205, size=3).astype(np.float32)
    # Linear colour gradient in a random direction.
    theta = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(theta) * xx + np.sin(theta) * yy)[..., None]
    img = base + rng.uniform(-50, 50, size=3).astype(np.float32) * ramp
    # Sinusoidal stripes with random orientation, period and phase.
    phi = rng.uniform(0, np.pi)
    period = rng.uniform(0.05, 0.25)
    wave = np.sin(
        2 * np.pi * (np.cos(phi) * xx + np.sin(phi) * yy) / period + rng.uniform(0, 2 * np.pi)
    )[..., None]
    img += rng.uniform(-15, 15, size=3).astype(np.float32) * wave
    img += rng.normal(0, rng.uniform(2, 6), size=img.shape).astype(np.float32)
    return img


def _regular_points(
    cx: float, cy: float, radii: Sequence[float], angles: Sequence[float]
) -> np.ndarray:
    pts = [(cx + r * np.cos(a), cy + r * np.sin(a)) for r, a in zip(radii, angles)]
    return np.round(np.array(pts)).astype(np.int32)


def _draw_shape(
    rng: np.random.Generator, label: int, size: int, cx: float, cy: float, radius: float
) -> np.ndarray:
    """Rasterise one shape of class ``label`` into a bool mask."""
    mask = np.zeros((size, size), dtype=np.uint8)
    name = SYNTHETIC_CLASSES[label]
    rot = rng.uniform(0, 2 * np.pi)
    centre = (int(round(cx)), int(round(cy)))
    if name == 'circle':
        cv2.circle(mask, centre, max(int(round(radius)), 2), 1, -1, cv2.LINE_8)
    elif name == 'square':
        angles = rot + np.pi / 2 * np.arange(4)
        pts = _regular_points(cx, cy, [radius * 1.15] * 4, angles)
        cv2.fillPoly(mask, [pts], 1, cv2.LINE_8)
    elif name == 'triangle':
        angles = rot + 2 * np.pi / 3 * np.arange(3) + rng.uniform(-0.3, 0.3, size=3)
        radii = radius * rng.uniform(0.95, 1.25, size=3)
        pts = _regular_points(cx, cy, radii, angles)
        cv2.fillPoly(mask, [pts], 1, cv2.LINE_8)
    elif name == 'ellipse':
        axes = (
            max(int(round(radius * 1.15)), 2),
            max(int(round(radius * rng.uniform(0.35, 0.65))), 2),
        )
        cv2.ellipse(mask, centre, axes, float(np.degrees(rot)), 0, 360, 1, -1, cv2.LINE_8)
    elif name == 'star':
        n = 5
        angles = rot + np.pi / n * np.arange(2 * n)
        inner = rng.uniform(0.38, 0.55)
        radii = radius * 1.25 * np.where(np.arange(2 * n) % 2 == 0, 1.0, inner)
        pts = _regular_points(cx, cy, radii, angles)
        cv2.fillPoly(mask, [pts], 1, cv2.LINE_8)
    else:  # pragma: no cover - guarded by SYNTHETIC_CLASSES
        raise ValueError(f'unknown shape {name!r}')
    return mask.astype(bool)


def _paint_shape(
    rng: np.random.Generator, img: np.ndarray, mask: np.ndarray, colour: Tuple[int, int, int]
) -> None:
    """Paint ``mask`` with a shaded, slightly noisy version of ``colour``."""
    size = img.shape[0]
    ys, xs = np.nonzero(mask)
    theta = rng.uniform(0, 2 * np.pi)
    shade = (np.cos(theta) * xs + np.sin(theta) * ys) / size
    shade = (shade - shade.mean()) * rng.uniform(20, 60)
    pix = np.asarray(colour, np.float32)[None, :] + shade[:, None]
    pix += rng.normal(0, 6, size=pix.shape)
    img[ys, xs] = pix


def render_synthetic_image(
    seed: int, split: str, index: int, size: int = 256, min_objects: int = 1, max_objects: int = 4
) -> SyntheticImage:
    """Render image ``index`` of ``split`` for a given seed.

    This is exactly what :func:`generate_synthetic_coco` writes as
    ``<split>/<index:06d>.png`` (with the same ``seed``, ``size``,
    ``min_objects`` and ``max_objects``), which makes it possible to inspect
    the full (unoccluded) masks behind an annotation.

    Args:
        seed (int): Data set seed.
        split (str): ``'train'`` or ``'val'``.
        index (int): 0-based image index within the split.
        size (int): Image height and width in pixels. Defaults to 256.
        min_objects (int): Minimum number of shapes sampled. Defaults to 1.
        max_objects (int): Maximum number of shapes sampled. Defaults to 4.

    Returns:
        SyntheticImage: The BGR image and its painted instances. At least one
        instance is always kept (the last sampled shape is never occluded).
    """
    rng = image_rng(seed, split, index, 0)
    img = _render_background(rng, size)

    num = int(rng.integers(min_objects, max_objects + 1))
    shapes: List[Tuple[int, np.ndarray]] = []
    centres: List[Tuple[float, float, float]] = []
    for _ in range(num):
        label = int(rng.integers(len(SYNTHETIC_CLASSES)))
        radius = rng.uniform(0.07, 0.2) * size
        if centres and rng.random() < NEAR_PLACEMENT_PROB:
            # Place the shape near an earlier one so that occlusion is common.
            px, py, pr = centres[int(rng.integers(len(centres)))]
            reach = pr + radius
            cx = px + rng.uniform(-reach, reach)
            cy = py + rng.uniform(-reach, reach)
        else:
            cx, cy = rng.uniform(0, size, size=2)
        # Keep most of the shape inside the frame.
        lo, hi = 0.5 * radius, size - 1 - 0.5 * radius
        cx, cy = float(np.clip(cx, lo, hi)), float(np.clip(cy, lo, hi))
        centres.append((cx, cy, radius))
        shapes.append((label, _draw_shape(rng, label, size, cx, cy, radius)))
    colours = [_random_colour(rng) for _ in range(num)]

    # Visible part of each shape = its pixels minus those of later shapes.
    # Dropping a shape never changes what is visible of the others (only
    # later shapes occlude), so the drop decision can be made up front.
    covered = np.zeros((size, size), dtype=bool)
    visible: List[Optional[np.ndarray]] = [None] * num
    for i in range(num - 1, -1, -1):
        visible[i] = shapes[i][1] & ~covered
        covered |= shapes[i][1]

    result = SyntheticImage(image=np.empty(0, np.uint8))
    for i, (label, full) in enumerate(shapes):
        full_area, vis_area = int(full.sum()), int(visible[i].sum())
        if vis_area < max(MIN_VISIBLE_PIXELS, MIN_VISIBLE_FRACTION * full_area):
            result.num_dropped += 1
            continue
        _paint_shape(rng, img, full, colours[i])
        result.instances.append(
            SyntheticInstance(
                label=label, full_mask=full, visible_mask=visible[i], colour=colours[i]
            )
        )
    result.image = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return result
