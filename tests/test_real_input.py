"""Real input's failure classes, rebuilt from the MNIST fixture: digits cropped
to their ink, bold, blurred, low-resolution, binarised, in both polarities, and
digits on ruled or squared paper.  Every one must be read (no false "no
digit"), and a blank ruled or squared page must stay "no digit"."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

N = 150  # fixture digits per kind


def _tight(digit: np.ndarray, size: int = 120, margin: int = 0) -> Image.Image:
    """The digit cropped to its ink (no margin), scaled so its longer side is ``size``,
    dark on white."""
    ys, xs = np.nonzero(digit > 30)
    crop = digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = crop.shape
    k = size / max(h, w)
    img = Image.fromarray(255 - crop).resize(
        (max(1, round(w * k)), max(1, round(h * k))), Image.Resampling.BICUBIC
    )
    if margin:
        framed = Image.new("L", (img.width + 2 * margin, img.height + 2 * margin), 255)
        framed.paste(img, (margin, margin))
        img = framed
    return img


KINDS = {
    "tight": lambda d: _tight(d),
    "tight_margin_8": lambda d: _tight(d, margin=8),
    "bold": lambda d: _tight(d).filter(ImageFilter.MinFilter(5)),
    "blurred": lambda d: _tight(d).filter(ImageFilter.GaussianBlur(4)),
    "binarised": lambda d: _tight(d).point(lambda v: 255 if v > 128 else 0),
    "16x16_upscaled": lambda d: (
        _tight(d).resize((16, 16), Image.Resampling.BOX).resize((64, 64), Image.Resampling.BICUBIC)
    ),
    "8x8_upscaled": lambda d: (
        _tight(d).resize((8, 8), Image.Resampling.BOX).resize((64, 64), Image.Resampling.BICUBIC)
    ),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("invert", [False, True], ids=["dark_on_light", "light_on_dark"])
def test_digits_cropped_bold_blurred_or_small_are_read(kind, invert, litert, mnist_sample):
    images, labels = mnist_sample
    blank = right = 0
    for digit, label in zip(images[:N], labels[:N], strict=True):
        img = KINDS[kind](digit)
        arr = np.asarray(img)
        prediction = litert.classify(255 - arr if invert else arr)
        blank += prediction.blank
        right += prediction.digit == label
    assert blank == 0, f"{blank} of {N} {kind} digits answered 'no digit'"
    # What the bundled model reads of each kind (measured: 8x8 keeps little of a
    # digit; a tight crop dilated by 4 px closes loops, 142 of 150 read right):
    # the preprocessing must not lose them, the model's limits stay visible.
    floor = {"8x8_upscaled": 0.75, "bold": 0.9}.get(kind, 0.95)
    assert right / N >= floor, f"{kind}: {right}/{N}"


def _ruled(
    size: tuple[int, int], spacing: int, thickness: int, grey: int, squared: bool = False
) -> np.ndarray:
    page = np.full(size, 250, np.uint8)
    for y in range(spacing // 2, size[0], spacing):
        page[y : y + thickness] = grey
    if squared:
        for x in range(spacing // 2, size[1], spacing):
            page[:, x : x + thickness] = grey
    return page


@pytest.mark.parametrize("squared", [False, True], ids=["ruled", "squared"])
@pytest.mark.parametrize("thickness", [1, 2, 3])
def test_a_blank_ruled_or_squared_page_is_no_digit(squared, thickness, litert):
    rng = np.random.default_rng(thickness)
    page = _ruled((300, 400), 32, thickness, 160, squared).astype(np.float32)
    page = np.clip(page + rng.normal(0, 3, page.shape), 0, 255).astype(np.uint8)
    assert litert.classify(page).blank


def test_a_form_box_around_nothing_is_no_digit(litert):
    page = np.full((200, 200), 255, np.uint8)
    page[20:23, 20:180] = page[177:180, 20:180] = 90
    page[20:180, 20:23] = page[20:180, 177:180] = 90
    assert litert.classify(page).blank


@pytest.mark.parametrize("squared", [False, True], ids=["ruled", "squared"])
def test_a_digit_on_ruled_or_squared_paper_is_read(squared, litert, mnist_sample):
    """A 3 px grey line runs through every digit (the line must not become part of it)."""
    images, labels = mnist_sample
    right = 0
    for i, (digit, label) in enumerate(zip(images[:60], labels[:60], strict=True)):
        page = _ruled((200, 260), 40, 3, 150, squared)
        ink = np.asarray(Image.fromarray(digit).resize((120, 120), Image.Resampling.BICUBIC))
        y, x = 40 + (i % 3) * 5, 70 + (i % 5) * 4  # lines cross the digit at various heights
        region = page[y : y + 120, x : x + 120].astype(np.float32)
        page[y : y + 120, x : x + 120] = (region * (1 - ink / 255.0)).astype(np.uint8)
        right += litert.classify(page).digit == label
    assert right >= 57, f"{right} of 60 read right"


def test_a_tight_seven_keeps_its_bar(litert, mnist_sample):
    """A stroke that spans a tight crop edge to edge is the digit's, not a line."""
    images, labels = mnist_sample
    sevens = [d for d, label in zip(images, labels, strict=True) if label == 7][:30]
    read = [
        litert.classify(np.asarray(_tight(d).filter(ImageFilter.MinFilter(5)))).digit
        for d in sevens
    ]
    assert read.count(7) >= 29, read


def test_a_drawing_saved_with_a_transparent_margin_keeps_its_own_paper(litert, mnist_sample):
    """A digit on an opaque canvas of its own (white on black, or black on
    white), saved with a fully transparent margin whose colour is black: the
    margin is the canvas's paper, so the canvas itself is no ink."""
    images, labels = mnist_sample
    n = 40
    right = 0
    for digit, label in zip(images[:n], labels[:n], strict=True):
        for light_ink in (True, False):
            drawing = np.kron(digit, np.ones((8, 8), np.uint8))  # 224 px
            if not light_ink:
                drawing = 255 - drawing
            rgba = np.zeros((400, 360, 4), np.uint8)  # transparent black
            rgba[80:304, 40:264, :3] = drawing[..., None]
            rgba[80:304, 40:264, 3] = 255
            right += litert.classify(Image.fromarray(rgba, "RGBA")).digit == label
    assert right >= 0.95 * 2 * n, f"{right}/{2 * n}"


def test_a_digit_on_paper_whose_colour_changes_across_the_photo_is_read(litert, mnist_sample):
    """Warm light at the top, daylight at the bottom: the paper's colour (not
    only its brightness) changes across the photo, and only the digit is ink
    (measured: 12 of 100 read when the paper had one colour)."""
    images, labels = mnist_sample
    h, w = 240, 320
    t = np.linspace(0.0, 1.0, h)[:, None, None]
    paper = np.array([255, 190, 190]) * (1 - t) + np.array([170, 210, 255]) * t
    paper = paper * np.ones((1, w, 1))
    right = 0
    for digit, label in zip(images[:N], labels[:N], strict=True):
        coverage = np.zeros((h, w, 1))
        coverage[50:190, 90:230, 0] = np.kron(digit, np.ones((5, 5))) / 255.0
        photo = paper * (1 - coverage) + np.array([110, 110, 140]) * coverage  # a pencil
        prediction = litert.classify(photo.astype(np.uint8))
        right += prediction.digit == label
    assert right >= 0.95 * N, f"{right}/{N}"
