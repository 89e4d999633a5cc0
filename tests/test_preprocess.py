"""The one preprocessing path: properties, every PIL mode, and bad input."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_desktop.preprocess import (
    ImageError,
    _lines_its_box,
    preprocess,
    preprocess_batch,
    with_other_readings,
)
from tests.helpers.images import bold_crop, encode, on_paper, png_header_bomb, upscale


def centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    ys, xs = np.mgrid[0 : img.shape[0], 0 : img.shape[1]]
    return float((img * ys).sum() / img.sum()), float((img * xs).sum() / img.sum())


def bbox(img: np.ndarray, level: float = 0.0) -> tuple[int, int]:
    """(height, width) of the pixels above ``level``."""
    rows = np.flatnonzero((img > level).any(axis=1))
    cols = np.flatnonzero((img > level).any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


@pytest.fixture(scope="module")
def digit(mnist_sample):
    """A real MNIST '7' (index 0 of the test set)."""
    images, labels = mnist_sample
    assert labels[0] == 7
    return images[0]


def test_mnist_digits_pass_through_essentially_unchanged(mnist_sample):
    images, _ = mnist_sample
    out = preprocess_batch(images[:300], polarity="auto")
    diff = np.abs(out - images[:300] / 255.0).mean(axis=(1, 2))
    assert np.median(diff) < 1e-3
    assert (diff < 0.01).mean() >= 0.98


def test_centre_of_mass_is_centred_and_box_fits_20(mnist_sample):
    rng = np.random.default_rng(3)
    images, _ = mnist_sample
    for digit in images[:20]:
        ink = upscale(digit, int(rng.integers(60, 200)))
        canvas = np.zeros((300, 400), np.float32)
        y, x = int(rng.integers(0, 300 - ink.shape[0])), int(rng.integers(0, 400 - ink.shape[1]))
        canvas[y : y + ink.shape[0], x : x + ink.shape[1]] = ink
        result = preprocess(canvas)
        cy, cx = centre_of_mass(result.image)
        assert abs(cy - 14) <= 1.0 and abs(cx - 14) <= 1.0
        assert max(bbox(result.image)) in (19, 20)
        assert result.box is not None
        bx, by, bw, bh = result.box
        assert x - 2 <= bx <= x + ink.shape[1] and y - 2 <= by <= y + ink.shape[0]


def test_aspect_ratio_is_kept():
    bar = np.zeros((200, 300), np.uint8)
    bar[90:110, 50:250] = 255  # 200 wide, 20 tall: ratio 10
    h, w = bbox(preprocess(bar).image, 0.3)
    assert w == 20 and 1 <= h <= 3
    tall = bar.T.copy()
    h, w = bbox(preprocess(tall).image, 0.3)
    assert h == 20 and 1 <= w <= 3


@pytest.mark.parametrize(
    ("paper", "ink", "expected"),
    [
        ((1, 1, 1), (0, 0, 0), "dark"),
        ((0, 0, 0), (1, 1, 1), "light"),
        ((0.55, 0.55, 0.5), (0.1, 0.15, 0.6), "dark"),
    ],
)
def test_polarity_is_detected(digit, paper, ink, expected):
    photo = on_paper(
        upscale(digit, 160), paper=paper, ink_color=ink, canvas=(240, 240), at=(40, 40)
    )
    result = preprocess(photo)
    assert result.polarity == expected
    reference = preprocess(digit).image
    assert np.abs(result.image - reference).mean() < 0.08


def test_polarity_can_be_overridden(digit):
    photo = on_paper(upscale(digit, 160), canvas=(240, 240), at=(40, 40))  # dark on white
    assert preprocess(photo, polarity="dark").polarity == "dark"
    forced = preprocess(photo, polarity="light")
    assert forced.polarity == "light"
    # Read as light ink on dark paper, there is nothing lighter than the white
    # paper: no digit at all, rather than the digit.
    assert forced.blank
    with pytest.raises(ValueError):
        preprocess(photo, polarity="sideways")  # type: ignore[arg-type]


def test_a_close_call_on_the_paper_offers_the_other_reading(mnist_sample):
    """A very bold digit cropped to its ink covers nearly as much of the image
    as the paper, or more: neither the larger area nor the frame is a sure sign
    of the paper, so the image is read with each tone as the paper too, for the
    classifier to turn to.  A reading whose ink lines its own box is the paper
    taken for ink and is not offered; a digit on paper, and a forced polarity
    (the canvas), give one reading."""
    images, _ = mnist_sample
    both_ways = 0
    for digit in images[:40]:
        result = preprocess(bold_crop(digit), other_readings=True)
        for other in result.other_readings:
            assert not other.blank and not other.other_readings
            assert not _lines_its_box(other.image)
        both_ways += {r.polarity for r in [result, *result.other_readings]} == {"light", "dark"}
    assert both_ways >= 30, both_ways  # measured: 34 of 40 (the rest: the paper lined its box)
    assert (np.asarray(bold_crop(images[0])) < 128).mean() > 0.35  # far more than on paper
    on_a_page = on_paper(upscale(images[0], 160), canvas=(240, 240), at=(40, 40))
    assert preprocess(on_a_page, other_readings=True).other_readings == []
    light = preprocess(255 - np.asarray(bold_crop(images[1])), "light", other_readings=True)
    assert light.other_readings == [] and not light.close_call


def test_other_readings_made_later_are_those_made_at_once(mnist_sample):
    """The classifier makes a close call's other readings only when the first
    finds no digit, from the first reading it has: the same readings as asking
    :func:`preprocess` for them at once."""
    images, _ = mnist_sample
    for digit in images[:10]:
        bold = bold_crop(digit)
        first = preprocess(bold)
        later = with_other_readings(first, bold, "auto")
        at_once = preprocess(bold, other_readings=True)
        assert later.close_call and not first.other_readings
        assert np.array_equal(later.image, first.image)
        assert len(later.other_readings) == len(at_once.other_readings)
        for a, b in zip(later.other_readings, at_once.other_readings, strict=True):
            assert np.array_equal(a.image, b.image) and a.polarity == b.polarity


def test_only_a_digit_filling_a_square_frame_is_read_narrowed_too(digit):
    """A digit whose ink reaches every edge of a square image may have been
    stretched there by a scanner: it is offered narrowed to 0.4 and 0.6 of its
    height too.  A digit with paper around it, or filling a frame of its own
    width, keeps the one reading."""
    ys, xs = np.nonzero(digit > 30)
    ink = Image.fromarray(255 - digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])
    square = np.asarray(ink.resize((64, 64), Image.Resampling.BICUBIC))
    pre = preprocess(square)
    assert [bbox(image, 0.3) for image in pre.unstretched] == [(20, 8), (20, 12)]
    assert bbox(pre.image, 0.3) == (20, 20)
    framed = np.pad(square, 16, constant_values=255)
    assert preprocess(framed).unstretched == []
    assert preprocess(np.asarray(ink.resize((40, 64)))).unstretched == []  # its own width
    assert preprocess(np.asarray(ink.resize((128, 64)))).unstretched == []  # wider than square
    assert preprocess(np.full((64, 64), 255, np.uint8)).unstretched == []  # blank


def test_paper_taken_for_ink_lines_its_box():
    """The space around a digit, read as ink, fills its box to the edges; a
    digit's own strokes, even a bold ring, touch their box at a few places."""
    ring = np.zeros((28, 28), np.float32)
    yy, xx = np.mgrid[0:28, 0:28]
    ring[(np.hypot(yy - 14, xx - 14) < 10) & (np.hypot(yy - 14, xx - 14) > 5)] = 1.0
    assert not _lines_its_box(ring)
    around = np.zeros((28, 28), np.float32)
    around[4:24, 4:24] = 1.0 - ring[4:24, 4:24]
    assert _lines_its_box(around)
    assert not _lines_its_box(np.zeros((28, 28), np.float32))


def _modes(digit: np.ndarray) -> dict[str, Image.Image]:
    """The same dark-on-white digit in every PIL mode users run into."""
    ink = upscale(digit, 112)
    grey = Image.fromarray(((1 - ink) * 255).astype(np.uint8), "L")
    rgba_black_ink = Image.new("RGBA", grey.size, (0, 0, 0, 0))
    rgba_black_ink.putalpha(Image.fromarray((ink * 255).astype(np.uint8)))
    rgba_white_ink = Image.new("RGBA", grey.size, (255, 255, 255, 0))
    rgba_white_ink.putalpha(Image.fromarray((ink * 255).astype(np.uint8)))
    palette_transparent = grey.convert("P")
    palette_transparent.info["transparency"] = 255
    return {
        "L": grey,
        "1": grey.point(lambda v: 255 if v > 128 else 0).convert("1"),
        "P": grey.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE),
        "P+transparency": palette_transparent,
        "RGB": grey.convert("RGB"),
        "RGBA black ink on transparent": rgba_black_ink,
        "RGBA white ink on transparent": rgba_white_ink,
        "LA": rgba_black_ink.convert("LA"),
        "CMYK": grey.convert("RGB").convert("CMYK"),
        "I;16": Image.fromarray(((1 - ink) * 65535).astype(np.uint16)),
        "I": grey.convert("I"),
        "F": grey.convert("F"),
        "YCbCr": grey.convert("RGB").convert("YCbCr"),
    }


def test_every_pil_mode_gives_the_same_input(digit):
    modes = _modes(digit)
    reference = preprocess(modes["L"]).image
    for name, image in modes.items():
        result = preprocess(image)
        assert not result.blank, name
        # Mode "1" has lost the anti-aliased edges, so it may differ a little more.
        tolerance = 0.06 if name == "1" else 0.04
        assert np.abs(result.image - reference).mean() < tolerance, name
        # And through a file, where the format supports the mode.
        fmt = "TIFF" if name in ("I;16", "I", "F", "CMYK", "YCbCr") else "PNG"
        if name == "YCbCr":
            continue  # no lossless file format stores YCbCr as such
        from_file = preprocess(encode(image, fmt))
        assert np.abs(from_file.image - reference).mean() < tolerance, f"{name} via {fmt}"


def test_exif_orientation_is_applied(digit):
    upright = Image.fromarray(((1 - upscale(digit, 120)) * 255).astype(np.uint8)).convert("RGB")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # as a camera held sideways stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    data = encode(stored, "JPEG", quality=95, exif=exif.tobytes())
    rotated, reference = preprocess(data), preprocess(upright)
    assert np.abs(rotated.image - reference.image).mean() < 0.03
    assert rotated.source_size == upright.size
    assert all(abs(a - b) <= 2 for a, b in zip(rotated.box, reference.box, strict=True))


def test_animated_images_use_the_first_frame(mnist_sample):
    images, labels = mnist_sample
    first, second = images[0], images[1]
    frames = [
        Image.fromarray(255 - upscale(d, 84).__mul__(255).astype(np.uint8)) for d in (first, second)
    ]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    result = preprocess(data).image
    assert np.abs(result - preprocess(frames[0]).image).mean() < 0.02
    assert np.abs(result - preprocess(frames[1]).image).mean() > 0.05


@pytest.mark.parametrize(
    "make",
    [
        lambda: np.zeros((280, 280), np.uint8),  # empty canvas
        lambda: np.full((600, 800, 3), 255, np.uint8),  # white page
        lambda: np.clip(np.random.default_rng(0).normal(235, 4, (480, 640)), 0, 255).astype(
            np.uint8
        ),  # noisy grey page
        lambda: encode(
            np.full((300, 300, 3), 250, np.uint8), "JPEG", quality=40
        ),  # JPEG of a blank page
        lambda: Image.new("RGBA", (100, 100), (0, 0, 0, 0)),  # fully transparent
    ],
    ids=["empty-canvas", "white-page", "noisy-page", "blank-jpeg", "transparent"],
)
def test_blank_input_is_no_digit(make):
    result = preprocess(make())
    assert result.blank
    assert result.image.max() == 0


def test_a_speck_on_white_paper_is_no_digit():
    page = np.full((500, 500), 255, np.uint8)
    page[200:202, 300:302] = 120  # a tiny grey dust speck
    assert preprocess(page).blank


def antialiased_ellipse(size: int, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    """White-on-black coverage of a filled ellipse (8 x 8 supersampling), uint8."""
    sub = (np.arange(size * 8) + 0.5) / 8
    inside = ((sub[None, :] - cx) / rx) ** 2 + ((sub[:, None] - cy) / ry) ** 2 <= 1
    return (inside.reshape(size, 8, size, 8).mean(axis=(1, 3)) * 255).astype(np.uint8)


def test_a_dot_of_any_size_is_no_digit():
    # A click on the canvas: from a thin pen's few pixels to a fat marker's
    # blob, wherever it falls between pixels.
    rng = np.random.default_rng(3)
    for diameter in (1.5, 2, 2.5, 3.5, 5, 7, 9, 12, 16, 24):
        for _ in range(6):
            cx, cy = rng.uniform(25, 60, 2)
            dot = antialiased_ellipse(84, cx, cy, diameter / 2, diameter / 2)
            assert preprocess(dot, "light").blank, diameter


def test_a_small_round_zero_is_a_digit():
    ring = antialiased_ellipse(84, 40.3, 41.6, 6, 9).astype(np.int16)
    ring -= antialiased_ellipse(84, 40.3, 41.6, 3, 6)
    assert not preprocess(ring.astype(np.uint8), "light").blank


def test_specks_do_not_stretch_the_bounding_box(digit):
    clean = on_paper(upscale(digit, 100), canvas=(600, 600), at=(250, 250))
    dirty = clean.copy()
    rng = np.random.default_rng(1)
    for y, x in rng.integers(0, 590, (12, 2)):
        dirty[y : y + 3, x : x + 3] = 40  # specks of dust far from the digit
    a, b = preprocess(clean), preprocess(dirty)
    assert np.abs(a.image - b.image).mean() < 0.02
    assert abs(a.box[2] - b.box[2]) <= 6 and abs(a.box[3] - b.box[3]) <= 6


def test_uneven_light_and_tinted_paper(digit):
    reference = preprocess(digit).image
    photo = on_paper(
        upscale(digit, 200),
        paper=(0.92, 0.88, 0.75),
        ink_color=(0.1, 0.12, 0.45),
        canvas=(400, 500),
        at=(100, 150),
        gradient=0.55,
        noise=0.03,
    )
    jpeg = encode(photo, "JPEG", quality=70)
    result = preprocess(jpeg)
    assert not result.blank and result.polarity == "dark"
    assert np.abs(result.image - reference).mean() < 0.1


def test_a_small_digit_in_a_large_image(digit):
    photo = on_paper(upscale(digit, 60), canvas=(1500, 2000), at=(900, 300), noise=0.02)
    result = preprocess(encode(photo, "JPEG", quality=85))
    assert not result.blank
    x, y, w, h = result.box
    assert 280 <= x <= 330 and 880 <= y <= 930 and w < 80 and h < 80


def test_a_huge_image_is_reduced_cheaply(tmp_path, digit, monkeypatch):
    # The decode budget shrinks as the process grows; this test process holds
    # TensorFlow and Qt by now, the app reading a scan would not.
    from mnist_desktop import imageio

    monkeypatch.setattr(imageio, "_resident_bytes", lambda: 100 * 2**20)
    # 20000 x 20000 (400 megapixels), 1 bit per pixel: a huge scan.
    big = Image.new("1", (20000, 20000), 1)
    ink = Image.fromarray((upscale(digit, 4000) < 0.5).astype(np.uint8) * 255).convert("1")
    big.paste(ink, (8000, 8000))
    path = tmp_path / "huge.png"
    big.save(path, optimize=False)
    result = preprocess(path)
    assert not result.blank and result.source_size == (20000, 20000)
    assert np.abs(result.image - preprocess(digit).image).mean() < 0.1


def test_a_decompression_bomb_is_refused():
    with pytest.raises(ImageError, match="too large"):
        preprocess(png_header_bomb(200_000, 200_000))


def test_corrupt_truncated_empty_and_non_image_files(tmp_path, digit):
    good = encode(Image.fromarray(digit), "PNG")
    cases = {
        "empty.png": b"",
        "text.png": b"this is not an image\n",
        "random.jpg": np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes(),
        "truncated.png": good[: len(good) // 2],
        "truncated.jpg": encode(Image.fromarray(digit).resize((200, 200)), "JPEG")[:700],
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ImageError) as info:
            preprocess(path)
        assert (
            name in str(info.value)
            or "damaged" in str(info.value)
            or "truncated" in str(info.value)
        ), name
    with pytest.raises(ImageError, match="cannot read"):
        preprocess(tmp_path / "does-not-exist.png")
    with pytest.raises(ImageError):
        preprocess(tmp_path)  # a directory
    with pytest.raises(ImageError, match="empty"):
        preprocess(b"")


def test_a_huge_array_is_reduced_with_averaging(digit):
    big = np.asarray(Image.fromarray(digit).resize((5600, 5600), Image.Resampling.BILINEAR))
    result = preprocess(big)
    assert result.source_size == (5600, 5600)
    assert np.abs(result.image - preprocess(digit).image).mean() < 0.05


def test_arrays_of_every_kind(digit):
    reference = preprocess(digit).image
    for array in (
        digit.astype(np.float32) / 255,
        digit.astype(np.uint16) * 257,
        np.stack([digit] * 3, axis=2),
        np.dstack([digit] * 3 + [np.full_like(digit, 255)]),
        digit[..., None],
    ):
        assert np.abs(preprocess(array).image - reference).mean() < 0.01
    with pytest.raises(ImageError):
        preprocess(np.zeros((3, 3, 7)))
    with pytest.raises(ImageError):
        preprocess(np.full((28, 28), np.nan, np.float32))


def test_thin_and_thick_strokes_give_similar_inputs():
    images = []
    for width in (4, 40):
        canvas = Image.new("L", (400, 400), 0)
        ImageDraw.Draw(canvas).line(
            [(120, 60), (300, 60), (180, 340)], fill=255, width=width, joint="curve"
        )
        images.append(preprocess(canvas).image)
    thin, thick = images
    # Both are a "7" filling the 20 px box; a faint thin line is brought up to full ink.
    assert thin.max() == pytest.approx(1.0) and thick.max() == pytest.approx(1.0)
    assert max(bbox(thin, 0.2)) >= 18 and max(bbox(thick, 0.2)) >= 18


def test_bytes_path_and_pil_agree(tmp_path, digit):
    img = Image.fromarray(digit)
    path = tmp_path / "d.png"
    img.save(path)
    a, b, c = preprocess(path).image, preprocess(path.read_bytes()).image, preprocess(img).image
    assert np.array_equal(a, b) and np.array_equal(b, c)
    assert preprocess(io.BytesIO(path.read_bytes()).getvalue()).image.shape == (28, 28)
