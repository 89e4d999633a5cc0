"""Reading images safely: formats, memory budget, one-line errors (issue 15)."""

from __future__ import annotations

import io
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import EpsImagePlugin, Image, ImageFile

from mnist_desktop import imageio
from mnist_desktop.imageio import ImageError, array_to_arrays, decode_cost, display_path
from mnist_desktop.preprocess import preprocess, read_image
from tests.helpers.images import (
    EPS_TEXT,
    encode,
    interlaced_png,
    pgm,
    png_header_bomb,
    png_with_ztxt,
    upscale,
)


@pytest.fixture
def digit(mnist_sample) -> np.ndarray:
    return mnist_sample[0][0]


@pytest.fixture
def ghostscript_calls(monkeypatch) -> list:
    """Records every attempt of Pillow's EPS plugin to run Ghostscript."""
    calls: list = []

    def spy(*args, **kwargs):
        calls.append(args)
        raise AssertionError("Ghostscript was run")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", spy)
    return calls


def assert_one_line(exc: BaseException, *parts: str) -> None:
    text = str(exc)
    assert "\n" not in text and text.strip() == text and text
    for part in parts:
        assert part in text, text


def test_eps_saved_as_png_is_not_an_image_and_never_runs_ghostscript(tmp_path, ghostscript_calls):
    path = tmp_path / "digit.png"
    path.write_bytes(EPS_TEXT)
    with pytest.raises(ImageError) as info:
        preprocess(path)
    assert_one_line(info.value, "digit.png", "not an image file")
    endless = tmp_path / "loop.png"
    endless.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\n{ } loop\n")
    with pytest.raises(ImageError, match="not an image file"):
        preprocess(endless)
    with pytest.raises(ImageError, match="not an image file"):
        preprocess(EPS_TEXT)  # as bytes, e.g. pasted
    assert ghostscript_calls == []


def test_a_pillow_image_opened_as_eps_by_the_caller_is_refused(tmp_path, ghostscript_calls):
    path = tmp_path / "digit.eps"
    path.write_bytes(EPS_TEXT)
    with Image.open(path) as img:  # the caller's own open, any plugin
        assert img.format == "EPS"
        with pytest.raises(ImageError) as info:
            preprocess(img)
    assert_one_line(info.value, "EPS images are not read")
    assert ghostscript_calls == []


def test_a_png_with_a_ztxt_bomb_is_one_clear_error(tmp_path, digit):
    path = tmp_path / "notes.png"
    path.write_bytes(png_with_ztxt(encode(digit), 2_000_000))
    assert path.stat().st_size < 100_000
    with pytest.raises(ImageError) as info:
        preprocess(path)
    assert_one_line(info.value, "notes.png", "metadata is too large")


def test_a_pgm_with_maxval_0_is_one_clear_error(tmp_path):
    path = tmp_path / "zero.pgm"
    path.write_bytes(pgm(8, 8, 0))
    with pytest.raises(ImageError) as info:
        preprocess(path)
    assert_one_line(info.value, "zero.pgm", "damaged")
    assert "maxval" not in str(info.value)  # no plugin's internal wording


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_float_tiff_with_nan_or_inf_is_one_clear_error(tmp_path, digit, bad):
    pixels = digit.astype(np.float32) / 255
    pixels[3, 4] = bad
    path = tmp_path / "float.tif"
    Image.fromarray(pixels, "F").save(path)
    with pytest.raises(ImageError) as info:
        preprocess(path)
    assert_one_line(info.value, "float.tif", "NaN or infinite")


def test_an_interlaced_png_reads_and_a_truncated_one_is_one_clear_error(tmp_path, digit):
    gray = (upscale(digit, 200) * 255).astype(np.uint8)
    data = interlaced_png(gray)
    assert Image.open(io.BytesIO(data)).info.get("interlace") == 1
    np.testing.assert_allclose(preprocess(data).image, preprocess(gray).image, atol=1e-5)
    for cut in (len(data) // 3, len(data) // 2, len(data) * 3 // 4):
        path = tmp_path / f"cut{cut}.png"
        path.write_bytes(data[:cut])
        with pytest.raises(ImageError) as info:
            preprocess(path)
        assert_one_line(info.value, path.name, "truncated")


def test_images_with_no_pixels_and_non_images_through_the_api(litert):
    cases = [
        Image.new("L", (0, 0)),
        Image.new("RGB", (5, 0)),
        np.zeros((0, 5)),
        np.array([[object(), None], [1, 2]], dtype=object),
        np.zeros((4, 4), dtype=complex),
        np.array([["a", "b"]]),
        [[0, 255], [255, 0]],
        None,
        12,
    ]
    for source in cases:
        for read in (preprocess, litert.classify):
            with pytest.raises(ImageError) as info:
                read(source)
            assert_one_line(info.value)


def test_an_oversized_png_is_refused_from_its_header_without_decoding(monkeypatch):
    def no_decoding(self):
        raise AssertionError("decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    header = png_header_bomb(22000, 22000)
    rgb = header[:24] + struct.pack(">BBBBB", 8, 2, 0, 0, 0)  # colour type 2: RGB
    ihdr = rgb[12:29]
    rgb = header[:8] + header[8:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + header[33:]
    with pytest.raises(ImageError) as info:
        preprocess(rgb)
    assert_one_line(info.value, "22000 x 22000", "too large", "MB")


def test_pillows_own_pixel_limit_is_not_a_traceback(monkeypatch, tmp_path, digit):
    # A TIFF over Pillow's limit (179 MP by default) raised DecompressionBombError
    # on seek/load; the reader's own budget replaces that limit.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    path = tmp_path / "scan.tif"
    Image.fromarray(upscale(digit, 200) > 0.5).save(path)  # 40,000 pixels > 2 x 1000
    assert not preprocess(path).blank
    assert Image.MAX_IMAGE_PIXELS == 1000  # restored
    # A Pillow image the caller opened (under a larger limit) still gets a
    # message, not a traceback.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)
    with Image.open(path) as img:
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
        with pytest.raises(ImageError) as info:
            preprocess(img)
    assert_one_line(info.value, "too large")


def test_decode_cost_counts_the_decoders_copies(digit):
    def opened(data):
        return Image.open(io.BytesIO(data))

    gray = Image.fromarray(digit).resize((300, 200))
    assert decode_cost(opened(encode(gray, "PNG"))) == 300 * 200
    assert decode_cost(opened(encode(gray.convert("RGB"), "PNG"))) == 300 * 200 * 4
    assert decode_cost(opened(encode(gray, "WEBP"))) >= 300 * 200 * 4 * 4
    baseline = decode_cost(opened(encode(gray, "JPEG")))
    progressive = decode_cost(opened(encode(gray, "JPEG", progressive=True)))
    assert progressive >= baseline + 300 * 200 * 2  # the coefficients of the whole image


def test_the_budget_refuses_what_would_not_fit(monkeypatch, digit):
    gray = encode(Image.fromarray(digit).resize((400, 400)), "PNG")
    monkeypatch.setattr(imageio, "_resident_bytes", lambda: None)  # the fixed budget only
    monkeypatch.setattr(imageio, "_MIN_BUDGET", 0)
    monkeypatch.setattr(imageio, "DECODE_BUDGET", 400 * 400 - 1)
    with pytest.raises(ImageError, match="too large"):
        preprocess(gray)
    monkeypatch.setattr(imageio, "DECODE_BUDGET", 400 * 400)
    assert not preprocess(gray).blank


def test_the_budget_shrinks_when_the_process_is_already_large(monkeypatch, digit):
    mb = 2**20
    monkeypatch.setattr(imageio, "_resident_bytes", lambda: 100 * mb)
    assert imageio.decode_budget() == imageio.DECODE_BUDGET
    monkeypatch.setattr(imageio, "_resident_bytes", lambda: 600 * mb)  # TensorFlow loaded
    assert imageio.decode_budget() == imageio.PROCESS_LIMIT - 600 * mb - imageio._HEADROOM
    monkeypatch.setattr(imageio, "_resident_bytes", lambda: 2000 * mb)
    assert imageio.decode_budget() == imageio._MIN_BUDGET  # ordinary photos still open
    assert not preprocess(encode(Image.fromarray(digit).resize((1000, 1000)), "PNG")).blank
    monkeypatch.setattr(imageio, "_resident_bytes", lambda: None)  # not Linux
    assert imageio.decode_budget() == imageio.DECODE_BUDGET


def test_the_resident_memory_is_read_on_linux():
    resident = imageio._resident_bytes()
    if resident is None:
        pytest.skip("no /proc here")
    assert 10 * 2**20 < resident < 64 * 2**30


def modes_of(gray: np.ndarray) -> dict[str, Image.Image]:
    img = Image.fromarray(gray)
    palette = img.convert("P")
    keyed = img.convert("RGB")
    keyed.info["transparency"] = (255, 255, 255)
    return {
        "L": img,
        "1": img.convert("1"),
        "RGB": img.convert("RGB"),
        "RGBA": img.convert("RGBA"),
        "LA": img.convert("LA"),
        "P": palette,
        "I;16": Image.fromarray(gray.astype(np.uint16) * 257),
        "I": img.convert("I"),
        "F": img.convert("F"),
        "CMYK": img.convert("CMYK"),
        "RGB+key": keyed,
    }


def test_reduction_in_bands_equals_a_whole_image_reduction(monkeypatch, digit):
    gray = (upscale(digit, 2101) * 255).astype(np.uint8)[:1501]  # not a multiple of the factor
    monkeypatch.setattr(imageio, "BAND_BYTES", 64 * 1024)  # many bands
    for name, img in modes_of(gray).items():
        banded = imageio._reduce_pil(img, 2)
        whole = imageio._reducible(img).reduce(2)
        assert banded.mode == whole.mode and banded.size == whole.size, name
        np.testing.assert_array_equal(np.asarray(banded), np.asarray(whole), err_msg=name)


def test_arrays_are_reduced_before_becoming_floats(monkeypatch, digit):
    rng = np.random.default_rng(1)
    monkeypatch.setattr(imageio, "BAND_BYTES", 256 * 1024)
    for array in (
        rng.integers(0, 256, (2051, 3077, 4), dtype=np.uint8),  # factor 3
        rng.integers(0, 65536, (2050, 1500), dtype=np.uint16),
        rng.normal(0.5, 0.4, (1200, 2049, 3)),
        rng.integers(-50, 300, (2100, 900), dtype=np.int32),
        rng.random((2100, 700)) > 0.5,
    ):
        data, alpha = array_to_arrays(array)
        # The reference: the whole array as floats, clipped, then block means.
        f = max(array.shape[:2]) // imageio.ANALYSIS_SIDE
        full = array.astype(np.float64)
        full /= {np.uint8: 255, np.uint16: 65535}.get(
            array.dtype.type, 255 if full.max() > 1 else 1
        )
        full = np.clip(full, 0, 1)
        h, w = array.shape[0] // f * f, array.shape[1] // f * f
        blocks = full[:h, :w].reshape(h // f, f, w // f, f, *array.shape[2:]).mean(axis=(1, 3))
        got = data if alpha is None else np.dstack([data, alpha])
        np.testing.assert_allclose(got, blocks, atol=1e-5)


def test_a_fifo_or_a_folder_is_refused_without_waiting(tmp_path):
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.png"
        os.mkfifo(fifo)
        with pytest.raises(ImageError, match="not a regular file"):
            preprocess(fifo)
    with pytest.raises(ImageError, match="folder"):
        preprocess(tmp_path)


def test_names_that_are_not_utf8_are_shown_escaped(tmp_path, digit):
    raw = os.fsencode(str(tmp_path)) + b"/d\xff\xfeigit\n.png"
    name = os.fsdecode(raw)
    try:
        with open(name, "wb") as fh:
            fh.write(b"not an image")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system refuses such names")
    with pytest.raises(ImageError) as info:
        read_image(name)
    assert_one_line(info.value, "d\\xff\\xfeigit\\n.png")
    str(info.value).encode("utf-8")  # printable, writable to a UTF-8 CSV
    assert display_path("plain/name.png") == "plain/name.png"
