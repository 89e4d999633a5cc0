"""Real input's failure classes, rebuilt from the MNIST fixture: digits cropped
to their ink, bold, blurred, low-resolution, binarised, in both polarities;
digits on ruled or squared paper and in a form's boxes; photos with a shadow
at the edge, a glare, coloured paper or coloured marks.  Every one must be
read (no false "no digit"), and a blank ruled, squared or form page must stay
"no digit"."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from mnist_desktop.preprocess import preprocess
from tests.helpers.images import boxed_scan

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
    "bolder_than_its_paper": lambda d: _tight(d).filter(ImageFilter.MinFilter(9)),
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
    blank = right = rejected = 0
    for digit, label in zip(images[:N], labels[:N], strict=True):
        img = KINDS[kind](digit)
        arr = np.asarray(img)
        prediction = litert.classify(255 - arr if invert else arr)
        blank += prediction.blank
        right += prediction.best == label
        rejected += prediction.rejected
    assert blank == 0, f"{blank} of {N} {kind} digits answered 'no digit'"
    # The preprocessing must not lose them: the model's best guess (shown, on
    # the greyed chart too) is right as often as the bundled model manages on
    # each kind (measured: 8x8 keeps little of a digit, 138 of 150; a tight
    # crop dilated by 4 px closes loops, 148, by 8 px, 143).  (8x8 read 121
    # while its blank paper, beside strokes blurred into every shade, was not
    # found: the median grey was taken for paper, thinning the strokes; and
    # 133 while the larger of two tones was always the paper: ink covering
    # half the image, the 8 px bold read 116, 29 of them "not a digit?".)
    floor = {"8x8_upscaled": 0.88, "bold": 0.9, "bolder_than_its_paper": 0.9}.get(kind, 0.95)
    assert right / N >= floor, f"{kind}: {right}/{N}"
    # The model's limit, kept visible: it answers "not a digit?" for some of
    # these blurred or tiny digits (measured: 14 of 150 8x8, 8 16x16, 3
    # blurred, 1 bolder than its paper; none of the others).
    most = {"8x8_upscaled": 0.12}.get(kind, 0.07)
    assert rejected / N <= most, f"{kind}: {rejected}/{N} answered 'not a digit'"


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


@pytest.mark.parametrize("base", [0.62, 0.75, 0.88])
def test_a_ones_base_is_not_a_line_to_write_on(base, litert, mnist_sample):
    """A 1 with a base wider than the rest of it, in a small image: the base has
    all the other ink on one side, as a line to write on has, but it stops
    short of the image's edges, where a printed line runs on.  (A photo's 1
    read as 7 once its base was erased.)  A digit written on a line that runs
    edge to edge still loses the line."""
    img = Image.new("L", (64, 64), 255)
    draw = ImageDraw.Draw(img)
    draw.line([(32, 6), (32, 54)], fill=0, width=3)
    draw.line([(32, 6), (24, 14)], fill=0, width=3)
    half = round(base * 32)
    draw.rectangle([32 - half, 54, 32 + half, 56], fill=0)
    model_input = preprocess(np.asarray(img)).image
    bottom = model_input[np.flatnonzero(model_input.max(axis=1) > 0.5)[-1]]
    assert (bottom > 0.5).sum() >= 12, "the base was erased"

    images, labels = mnist_sample
    right = 0
    for digit, label in zip(images[:30], labels[:30], strict=True):
        page = np.full((160, 200), 250, np.uint8)
        ink = np.asarray(Image.fromarray(digit).resize((112, 112), Image.Resampling.BICUBIC))
        page[20:132, 44:156] = (250 * (1 - ink / 255.0)).astype(np.uint8)
        page[124:127] = 120  # the line it is written on, under its lowest ink
        right += litert.classify(page).digit == label
    assert right >= 29, f"{right} of 30 read right on their line"


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


@pytest.mark.parametrize("invert", [False, True], ids=["dark_on_light", "light_on_dark"])
def test_a_digit_on_a_gradient_running_into_white_is_read(invert, litert, mnist_sample):
    """Paper shading from black in one corner to white in the other, clipped
    at both ends (a real photo, 6_011): the fitted paper must not overshoot
    the white, or the saturated corner reads as ink beside the digit
    (measured: 79 and 80 of 100 read, now 92; strokes over the black corner
    are lost either way)."""
    images, labels = mnist_sample
    yy, xx = np.mgrid[0:200, 0:200]
    paper = np.clip(1.6 * (xx + yy) / 400 - 0.3, 0, 1)
    right = 0
    for digit, label in zip(images[:100], labels[:100], strict=True):
        ink = np.asarray(Image.fromarray(digit).resize((140, 140), Image.Resampling.BICUBIC))
        page = paper.copy()
        page[30:170, 30:170] *= 1 - ink / 255.0
        page = 1 - page if invert else page
        right += litert.classify((page * 255).astype(np.uint8)).digit == label
    assert right >= 88, f"{right}/100 read"


def _shadowed_page(w: int, h: int, top: int, left: int) -> np.ndarray:
    """Grey paper with a dark, soft-edged rounded shadow (a phone, a hand)
    reaching in from the bottom edge from ``top`` down and from ``left`` on."""
    shadow = Image.new("L", (w, h), 0)
    ImageDraw.Draw(shadow).rounded_rectangle((left, top, w + 40, h + 40), radius=40, fill=255)
    shadow = np.asarray(shadow.filter(ImageFilter.GaussianBlur(6)), np.float32) / 255.0
    return 215.0 - 190.0 * shadow


def _with_ink(page: np.ndarray, digit: np.ndarray, x: int, y: int, scale: int) -> None:
    ink = np.kron(digit.astype(np.float32) / 255.0, np.ones((scale, scale)))
    h, w = ink.shape
    page[y : y + h, x : x + w] = page[y : y + h, x : x + w] * (1 - 0.8 * ink)


def test_a_shadow_reaching_into_a_photo_is_not_ink(litert, mnist_sample):
    """A phone's shadow, much larger than the digits, at the photo's edge: the
    digits must not become its specks (real numbers photo 016 read '00000')."""
    from mnist_desktop.numbers import read_number

    images, labels = mnist_sample
    rng = np.random.default_rng(5)
    right = 0
    for _ in range(20):
        page = _shadowed_page(640, 480, int(rng.integers(280, 360)), int(rng.integers(0, 200)))
        pick = rng.choice(len(labels), 5, replace=False)
        for i, j in enumerate(pick):
            _with_ink(page, images[j], 60 + 105 * i, 90, 3)
        truth = "".join(str(labels[j]) for j in pick)
        right += read_number(litert, page.astype(np.uint8)).text == truth
    assert right >= 18, f"{right}/20 rows read exactly beside a shadow"

    single = 0
    for digit, label in zip(images[:50], labels[:50], strict=True):
        page = _shadowed_page(320, 240, 150, 60)
        _with_ink(page, digit, 100, 20, 4)
        single += litert.classify(page.astype(np.uint8)).digit == label
    assert single >= 48, f"{single}/50 single digits read beside a shadow"


def test_a_bold_digit_cropped_to_its_ink_is_not_taken_for_a_shadow(litert, mnist_sample):
    """The other side of the shadow rule: a bold digit filling its frame, with a
    speck of dust beside it, is the digit and never the clutter."""
    images, labels = mnist_sample
    right = 0
    for digit, label in zip(images[:N], labels[:N], strict=True):
        img = np.array(_tight(digit).filter(ImageFilter.MinFilter(7)))
        img = np.pad(img, ((0, 0), (0, 24)), constant_values=255)
        img[4:8, -10:-6] = 40  # the speck, clear of the digit
        prediction = litert.classify(img)
        assert not prediction.blank
        right += prediction.digit == label
    assert right >= 0.9 * N, f"{right}/{N}"


def _glared_page(w: int, h: int, rng) -> np.ndarray:
    """Grey paper under uneven light: a broad bright patch (a lamp's reflection)
    off to one side, fading to a dim corner; over a patch of paper, the light
    differs from the paper more than thin pencil strokes do."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(0.6, 0.9) * w, rng.uniform(0.65, 0.9) * h
    glare = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (0.4 * w) ** 2))
    return 140.0 + 60.0 * glare - 20.0 * (xx / w) + rng.normal(0, 2, (h, w))


def test_thin_pencil_beside_a_glare_is_dark_ink(litert, mnist_sample):
    """Thin, dim strokes on unevenly lit paper: over whole patches, the light
    differs from the paper more than the strokes do, and used to decide that
    the ink was light (real numbers photo 009 read nothing)."""
    from mnist_desktop.numbers import read_number

    images, labels = mnist_sample
    rng = np.random.default_rng(9)
    right = 0
    for _ in range(20):
        page = _glared_page(1024, 768, rng)
        pick = rng.choice(len(labels), 6, replace=False)
        for i, j in enumerate(pick):
            ink = np.kron(images[j].astype(np.float32) / 255.0, np.ones((2, 2)))
            y, x = 320, 150 + 120 * i
            page[y : y + 56, x : x + 56] *= 1 - 0.35 * ink
        truth = "".join(str(labels[j]) for j in pick)
        right += read_number(litert, np.clip(page, 0, 255).astype(np.uint8)).text == truth
    assert right >= 17, f"{right}/20 rows read exactly beside a glare"


def _boxes_form(images=None) -> np.ndarray:
    """A form's row of six boxes to write digits in, blank or filled with ``images``."""
    page = Image.new("L", (600, 160), 247)
    draw = ImageDraw.Draw(page)
    side = 93
    for k in range(6):
        x = 20 + k * side
        draw.rectangle((x, 33, x + side, 33 + side), outline=70, width=2)
    for k, digit in enumerate(images if images is not None else []):
        ink = Image.fromarray(255 - digit).resize((side - 14, side - 14), Image.Resampling.BICUBIC)
        page.paste(ink, (20 + k * side + 7, 40), Image.fromarray(digit).resize(ink.size))
    return np.asarray(page)


def test_a_row_of_boxes_to_write_in_is_paper(litert, mnist_sample):
    """The boxes of a form: their sides run only between two lines, too short to
    be lines themselves, and were read as 1s (a blank form read '555050')."""
    from mnist_desktop.numbers import read_number

    blank = _boxes_form()
    assert litert.classify(blank).blank
    assert read_number(litert, blank).text == ""

    images, labels = mnist_sample
    right = 0
    for k in range(0, 120, 6):
        filled = _boxes_form(images[k : k + 6])
        right += read_number(litert, filled).text == "".join(map(str, labels[k : k + 6]))
    assert right >= 18, f"{right}/20 filled forms read exactly"


def test_ones_written_from_line_to_line_in_a_form_are_read(litert, mnist_sample):
    """A 1 filling its box from line to line is a column like the box's sides,
    but off their even step (it stood between two sides and was erased with
    them: 6 of 20 forms read; the rest of the misses are the model's)."""
    from mnist_desktop.numbers import read_number

    images, labels = mnist_sample
    rng = np.random.default_rng(0)
    right = 0
    for _ in range(20):
        pick = rng.choice(len(images), 6, replace=False)
        page = Image.fromarray(_boxes_form(images[pick]))
        truth = [str(d) for d in labels[pick]]
        draw = ImageDraw.Draw(page)
        for box in rng.choice(6, 2, replace=False):
            x = 20 + box * 93
            draw.rectangle((x + 3, 36, x + 90, 123), fill=247)  # its digit becomes a 1
            centre, slant = x + 46 + rng.integers(-15, 15), rng.integers(-6, 7)
            width = int(rng.integers(4, 9))
            draw.line((centre + slant, 33, centre - slant, 126), fill=20, width=width)
            truth[box] = "1"
        right += read_number(litert, np.asarray(page)).text == "".join(truth)
    assert right >= 17, f"{right}/20 forms with 1s from line to line read exactly"


@pytest.mark.parametrize("invert", [False, True], ids=["dark_on_light", "light_on_dark"])
@pytest.mark.parametrize("pad", [3, 8])
def test_a_digit_in_a_snug_box_is_read(pad, invert, litert, mnist_sample):
    """A box drawn close around the digit (one box of a form, cut out): its
    lines end where the box does, so they are no ruled lines; two of its sides
    were read as part of the digit (39 and 52 of 100 read)."""
    images, labels = mnist_sample
    right = 0
    for digit, label in zip(images[:100], labels[:100], strict=True):
        ink = _tight(digit, size=100)
        w, h = ink.size
        page = Image.new("L", (w + 2 * pad + 20, h + 2 * pad + 20), 245)
        page.paste(ink, (10 + pad, 10 + pad), Image.fromarray(255 - np.asarray(ink)))
        ImageDraw.Draw(page).rectangle(
            (10, 10, 10 + w + 2 * pad, 10 + h + 2 * pad), outline=60, width=2
        )
        arr = np.asarray(page)
        right += litert.classify(255 - arr if invert else arr).digit == label
    assert right >= 97, f"{right}/100 digits in a box {pad} px around them read"


def test_bright_coloured_marks_beside_a_dark_digit_are_not_ink(litert, mnist_sample):
    """A dark blue digit on cyan paper crossed by yellow-green lines about as
    bright as the paper: the lines differ from the paper in colour only, and
    used to become ink around the digit (real photo 4_010 read 8)."""
    images, labels = mnist_sample
    rng = np.random.default_rng(3)
    right = 0
    for digit, label in zip(images[:N], labels[:N], strict=True):
        page = Image.new("RGB", (200, 200), (112, 240, 240))
        draw = ImageDraw.Draw(page)
        for _ in range(6):
            x0, y0, x1, y1 = (int(v) for v in rng.integers(0, 200, 4))
            draw.line((x0, y0, x1, y1), fill=(176, 240, 0), width=6)
        ink = Image.fromarray(digit).resize((140, 140), Image.Resampling.BICUBIC)
        page.paste((0, 16, 112), (30, 30), ink)
        right += litert.classify(np.asarray(page)).digit == label
    assert right >= 0.95 * N, f"{right}/{N}"


def _aspect(digit: np.ndarray) -> float:
    ys, xs = np.nonzero(digit > 30)
    return (np.ptp(xs) + 1) / (np.ptp(ys) + 1)


def test_digits_stretched_into_a_square_box_are_read(litert, mnist_sample):
    """A narrow digit stretched square loses its shape (a flagged 1 turns into
    a caret, a 9 into a g): read narrowed too (``Preprocessed.unstretched``),
    the fixture digits narrower than 0.6 of their height are read 141 of 172
    times so, 109 from the stretched image alone; all 1,000, 957 against 922.
    (A 1 that is a bare line becomes a block: the floor is not higher.)"""
    images, labels = mnist_sample
    narrow = [i for i, d in enumerate(images) if _aspect(d) < 0.6]
    with_narrowed = alone = every = filling = 0
    for i, (digit, label) in enumerate(zip(images, labels, strict=True)):
        pre = preprocess(boxed_scan(digit))
        filling += len(pre.unstretched) == 2
        read = litert.predict_preprocessed(pre).digit == label
        every += read
        if i in narrow:
            with_narrowed += read
            alone += litert.predict_preprocessed(replace(pre, unstretched=[])).digit == label
    assert filling >= 980, f"{filling}/1000 found to fill their frame"
    assert with_narrowed >= 0.8 * len(narrow), f"{with_narrowed}/{len(narrow)} narrow digits"
    assert with_narrowed >= alone + 0.1 * len(narrow), f"{with_narrowed} against {alone} alone"
    assert every >= 945, f"{every}/1000 stretched digits read"


def test_reading_a_digit_narrowed_too_costs_a_tight_crop_little(litert, mnist_sample):
    """A digit cropped to its ink keeps its own width: where it fills a square
    frame (a round 0, a wide 4) it is read narrowed too, and about as well as
    without (455 of the fixture's 461 such crops, 457 from the image alone; the
    model before the bundled one: 457 and 455; an equal share for each of the
    three images: 454; the narrowed ones alone: 449)."""
    images, labels = mnist_sample
    squarish = together = alone = 0
    for digit, label in zip(images, labels, strict=True):
        pre = preprocess(np.asarray(_tight(digit)))
        if not pre.unstretched:
            continue
        squarish += 1
        together += litert.predict_preprocessed(pre).digit == label
        alone += litert.predict_preprocessed(replace(pre, unstretched=[])).digit == label
    assert squarish >= 400, squarish
    assert together >= alone - 0.01 * squarish, (
        f"{together} against {alone} of {squarish} squarish tight crops"
    )
