"""Real input: digits and numbers people made, and the ordinary inputs MNIST never shows.

    python benchmarks/real.py                        # every section, litert engine
    python benchmarks/real.py --only scans --only stress
    python benchmarks/real.py --data /path/to/shared/data --engine keras

Reads ``../shared/data`` (``--data``; ``real/`` and ``mnist/`` below it) in
place: nothing from there is copied into the project. Sections:

* ``photos``: ``real/photos`` (395 digits people photographed, drew or exported
  for their own digit apps), per kind (photo, drawing, small) and overall;
* ``scans``: ``real/scans`` (Semeion, 1,593 scanned digits, 16x16 upscaled);
* ``numbers``: ``real/numbers`` (16 handwritten numbers), read with ``read_number``;
* ``rows``: rows of 4-6 Semeion or MNIST digits composed here (fixed seed): plain
  spaced rows, rows with a wide 0/4/5/7 (stretched 1.3-1.8x) and rows with
  joined (touching) pairs;
* ``stress``: MNIST digits as a user might give them: cropped tight to the ink,
  with an 8 px margin, bold, blurred, reduced to 16x16 or 8x8 and upscaled,
  binarised; dark on white and white on black;
* ``paper``: blank ruled, squared and form pages (must be "no digit"), and
  digits on ruled paper (3 px lines crossing them) and on graph paper.

MNIST digits come from the training file's validation split, the 5,000 images
that training holds out (``split_validation`` with the model card's
``split_seed``), so the model never trained on them.

Every section reports accuracy, the share answered "no digit" (blank) and "not
a digit" (rejected) and the top confusions (or exact reads for numbers); each
miss goes on a contact sheet in ``benchmarks/misses/`` (git-ignored): the input
beside the 28x28 images the model saw. Results go to
``benchmarks/results/real.json``; with ``--only`` the other sections already
there are kept, each with the command, engine and model it was measured with.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import shlex
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SECTIONS = ("photos", "scans", "numbers", "rows", "stress", "paper")
MISSES = ROOT / "benchmarks" / "misses"
OUT = ROOT / "benchmarks" / "results" / "real.json"


# --------------------------------------------------------------------------- #
# Figures
# --------------------------------------------------------------------------- #


def tally(items: list[tuple[int, object]]) -> dict:
    """Accuracy, "no digit" and "not a digit" shares and top confusions of
    (true digit, Prediction) pairs."""
    n = len(items)
    right = sum(p.digit == t for t, p in items)
    blank = sum(p.blank for _, p in items)
    rejected = sum(p.rejected for _, p in items)
    pairs = Counter((t, p.digit) for t, p in items if p.digit is not None and p.digit != t)
    return {
        "n": n,
        "correct": int(right),
        "accuracy": round(right / n, 4) if n else None,
        "no_digit": int(blank),
        "no_digit_share": round(blank / n, 4) if n else None,
        "not_a_digit": int(rejected),
        "not_a_digit_share": round(rejected / n, 4) if n else None,
        "top_confusions": [f"{t}->{d}: {c}" for (t, d), c in pairs.most_common(5)],
    }


def exact_tally(items: list[tuple[str, str]]) -> dict:
    """Exact reads of (truth, read) number pairs, and how the misses went wrong."""
    n = len(items)
    exact = sum(t == r for t, r in items)
    return {
        "n": n,
        "exact": exact,
        "exact_rate": round(exact / n, 4) if n else None,
        "too_many_digits": sum(len(r) > len(t) for t, r in items),
        "too_few_digits": sum(len(r) < len(t) for t, r in items),
        "same_count_wrong_digit": sum(len(r) == len(t) and r != t for t, r in items),
    }


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


# --------------------------------------------------------------------------- #
# Contact sheets
# --------------------------------------------------------------------------- #


@dataclass
class Miss:
    """One wrong answer: the input, what the model saw, and what it said."""

    source: object
    """A path, a PIL image or an array (grey or RGB, uint8)."""
    seen: list[np.ndarray]
    """The 28x28 images (white on black, 0..1) the model classified; none when blank."""
    text: list[str]
    """Lines of caption: the name, the truth and the answer."""


_FONT = None


def font():
    global _FONT
    if _FONT is None:
        try:
            _FONT = ImageFont.load_default(size=11)
        except TypeError:  # Pillow without FreeType
            _FONT = ImageFont.load_default()
    return _FONT


def as_image(source) -> Image.Image:
    """The input as RGB for the sheet; transparency shown over mid grey."""
    if isinstance(source, np.ndarray):
        img = Image.fromarray(source)
    elif isinstance(source, Image.Image):
        img = source
    else:
        img = ImageOps.exif_transpose(Image.open(source))
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        back = Image.new("RGBA", rgba.size, (128, 128, 128, 255))
        return Image.alpha_composite(back, rgba).convert("RGB")
    if img.mode in ("I;16", "I", "F"):
        img = ImageOps.autocontrast(img.convert("L") if img.mode != "F" else img.convert("L"))
    return img.convert("RGB")


def fit(img: Image.Image, box: tuple[int, int]) -> Image.Image:
    scale = min(box[0] / img.width, box[1] / img.height)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.NEAREST if scale >= 1 else Image.LANCZOS)


def seen_image(image: np.ndarray, zoom: int) -> Image.Image:
    grey = (np.clip(image, 0, 1) * 255).astype(np.uint8)
    return Image.fromarray(grey).resize((28 * zoom, 28 * zoom), Image.NEAREST).convert("RGB")


def tile(miss: Miss, wide: bool) -> Image.Image:
    """Input (framed in red so its edges show) beside or above what the model saw."""
    back = (205, 210, 222)
    lines = len(miss.text)
    if wide:
        w, thumb_box, zoom = 660, (650, 110), 2
        img = Image.new("RGB", (w, 110 + 8 + 56 + 6 + 13 * lines + 6), back)
        thumb = fit(as_image(miss.source), thumb_box)
        img.paste(thumb, (5, 4))
        ImageDraw.Draw(img).rectangle(
            (4, 3, 5 + thumb.width, 4 + thumb.height), outline=(220, 0, 0)
        )
        for k, seen in enumerate(miss.seen[:11]):
            img.paste(seen_image(seen, zoom), (5 + k * 59, 118))
        text_y = 118 + 56 + 6
    else:
        w, thumb_box, zoom = 196, (96, 96), 3
        img = Image.new("RGB", (w, 100 + 6 + 13 * lines + 4), back)
        thumb = fit(as_image(miss.source), thumb_box)
        x, y = 4 + (96 - thumb.width) // 2, 4 + (96 - thumb.height) // 2
        img.paste(thumb, (x, y))
        ImageDraw.Draw(img).rectangle(
            (x - 1, y - 1, x + thumb.width, y + thumb.height), outline=(220, 0, 0)
        )
        if miss.seen:
            img.paste(seen_image(miss.seen[0], zoom), (106, 10))
        else:
            ImageDraw.Draw(img).text((112, 44), "(nothing)", fill=(80, 80, 80), font=font())
        text_y = 104
    draw = ImageDraw.Draw(img)
    for k, line in enumerate(miss.text):
        draw.text((5, text_y + 13 * k), line, fill=(0, 0, 0), font=font())
    return img


def contact_sheets(section: str, misses: list[Miss], wide: bool = False) -> list[Path]:
    """Write every miss of ``section`` into benchmarks/misses/<section>[-k].png."""
    MISSES.mkdir(parents=True, exist_ok=True)
    for old in MISSES.glob(f"{section}*.png"):
        if old.stem == section or old.stem.startswith(section + "-"):
            old.unlink()
    if not misses:
        return []
    tiles = [tile(m, wide) for m in misses]
    per_page = 36 if wide else 240
    cols = 2 if wide else 10
    paths = []
    for page, start in enumerate(range(0, len(tiles), per_page)):
        chunk = tiles[start : start + per_page]
        tw = max(t.width for t in chunk) + 2
        th = max(t.height for t in chunk) + 2
        rows = -(-len(chunk) // cols)
        sheet = Image.new("RGB", (cols * tw, rows * th), (255, 255, 255))
        for k, t in enumerate(chunk):
            sheet.paste(t, ((k % cols) * tw, (k // cols) * th))
        suffix = "" if len(tiles) <= per_page else f"-{page + 1}"
        path = MISSES / f"{section}{suffix}.png"
        sheet.save(path, optimize=True)
        paths.append(path)
    return paths


def prediction_text(prediction) -> str:
    if prediction.blank:
        return "no digit"
    if prediction.rejected:
        return f"not a digit (best {prediction.best})"
    return f"{prediction.label} ({prediction.confidence:.0%})"


def digit_miss(source, name: str, truth, prediction) -> Miss:
    pre = prediction.preprocessed
    seen = [] if pre is None or pre.blank else [pre.image]
    return Miss(source, seen, [name[:32], f"true {truth}  read {prediction_text(prediction)}"])


def number_miss(source, name: str, truth: str, reading) -> Miss:
    detail = " ".join(
        f"{d.prediction.digit}({d.prediction.confidence:.0%})" for d in reading.digits
    )
    return Miss(
        source,
        [d.image for d in reading.digits],
        [f"{name}   true {truth}   read {reading.text or '(nothing)'}", detail[:110]],
    )


# --------------------------------------------------------------------------- #
# Digit sources: MNIST validation digits and Semeion scans, as ink (0..1)
# --------------------------------------------------------------------------- #


def crop_to_ink(ink: np.ndarray, threshold: float = 0.1) -> np.ndarray:
    ys, xs = np.nonzero(ink > threshold)
    return ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def resize(ink: np.ndarray, w: int, h: int, method=Image.BICUBIC) -> np.ndarray:
    """Resize float ink, clipped back to 0..1 (bicubic overshoots)."""
    img = Image.fromarray(ink.astype(np.float32), "F").resize((max(1, w), max(1, h)), method)
    return np.clip(np.asarray(img), 0.0, 1.0)


def to_uint8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


class Sources:
    """Lazily loaded digit sources shared by the synthetic sections."""

    def __init__(self, data: Path, card: dict) -> None:
        self.data = data
        self.card = card

    @cached_property
    def mnist(self) -> tuple[np.ndarray, np.ndarray, str]:
        """(images, labels, description): MNIST's held-out validation split if it can be
        rebuilt as training made it, else the test file."""
        from mnist_desktop.ml.data import load_mnist
        from mnist_desktop.ml.train import VALIDATION_SIZE, split_validation

        mnist = load_mnist(self.data / "mnist")
        seed = self.card.get("split_seed")
        size = int(self.card.get("validation_images", VALIDATION_SIZE))
        if seed is not None and len(mnist.y_train) == 60000:
            _, val = split_validation(mnist.y_train.astype(np.int32), size, int(seed))
            what = (
                f"MNIST training file, validation split held out by training "
                f"(split_validation, {size} images, split_seed {seed} from the model card)"
            )
            return mnist.x_train[val], mnist.y_train[val].astype(int), what
        return mnist.x_test, mnist.y_test.astype(int), "MNIST test file (no split_seed in card)"

    def mnist_by_label(self) -> dict[int, np.ndarray]:
        _, labels, _ = self.mnist
        return {d: np.flatnonzero(labels == d) for d in range(10)}

    def mnist_ink(self, i: int) -> np.ndarray:
        return crop_to_ink(self.mnist[0][i].astype(np.float32) / 255.0)

    @cached_property
    def semeion(self) -> tuple[list[np.ndarray], np.ndarray]:
        """Semeion digits as cropped ink, with their labels."""
        rows = read_index(self.data / "real" / "scans")
        inks = [
            crop_to_ink(1.0 - np.asarray(Image.open(path).convert("L"), np.float32) / 255.0)
            for path, _, _ in rows
        ]
        return inks, np.array([int(label) for _, label, _ in rows])

    def semeion_by_label(self) -> dict[int, np.ndarray]:
        return {d: np.flatnonzero(self.semeion[1] == d) for d in range(10)}


def read_index(folder: Path) -> list[tuple[Path, str, str]]:
    """(path, label, kind) of every row of ``folder/index.csv``; paths in the index are
    relative to the ``real`` folder."""
    with open(folder / "index.csv", newline="", encoding="utf-8") as fh:
        return [(folder.parent / r["file"], r["label"], r["kind"]) for r in csv.DictReader(fh)]


# --------------------------------------------------------------------------- #
# Sections
# --------------------------------------------------------------------------- #


@dataclass
class Context:
    classifier: object
    data: Path
    sources: Sources
    seed: int
    stress_n: int
    rows_n: int
    sheets: dict[str, list[str]] = field(default_factory=dict)


def single_digits(ctx: Context, section: str, folder: str, kinds_of: str) -> dict:
    """A folder of single real digits: figures per kind and overall."""
    rows = read_index(ctx.data / "real" / folder)
    by_kind: dict[str, list] = {}
    misses = []
    for path, label, kind in rows:
        truth = int(label)
        prediction = ctx.classifier.classify(path)
        by_kind.setdefault(kind, []).append((truth, prediction))
        if prediction.digit != truth:
            misses.append(digit_miss(path, path.name, truth, prediction))
    everything = [item for items in by_kind.values() for item in items]
    ctx.sheets[section] = [str(p) for p in contact_sheets(section, misses)]
    out = {kinds_of: {k: tally(v) for k, v in sorted(by_kind.items())}, "all": tally(everything)}
    return out


def photos(ctx: Context) -> dict:
    return single_digits(ctx, "photos", "photos", "by_kind")


def scans(ctx: Context) -> dict:
    return single_digits(ctx, "scans", "scans", "by_kind")


def numbers(ctx: Context) -> dict:
    from mnist_desktop.numbers import read_number

    rows = read_index(ctx.data / "real" / "numbers")
    files, pairs, misses = [], [], []
    for path, label, _ in rows:
        reading = read_number(ctx.classifier, path)
        files.append({"file": path.name, "truth": label, "read": reading.text})
        pairs.append((label, reading.text))
        if reading.text != label:
            misses.append(number_miss(path, path.name, label, reading))
    ctx.sheets["numbers"] = [str(p) for p in contact_sheets("numbers", misses, wide=True)]
    return {"all": exact_tally(pairs), "files": files}


# ---- rows ----------------------------------------------------------------- #

ROW_KINDS = ("plain", "wide", "joined")
WIDE_DIGITS = (0, 4, 5, 7)


def _touch_offset(a: np.ndarray, ya: int, b: np.ndarray, yb: int) -> int | None:
    """How far right of a's left edge b's left edge goes for their ink to just meet
    (one pixel in common), given their tops ya, yb on the row; None if no row is shared."""
    best = None
    for r in range(max(ya, yb), min(ya + a.shape[0], yb + b.shape[0])):
        ra = np.flatnonzero(a[r - ya] > 0.5)
        lb = np.flatnonzero(b[r - yb] > 0.5)
        if ra.size and lb.size:
            x = int(ra[-1] - lb[0])
            best = x if best is None else max(best, x)
    return best


def compose_row(
    glyphs: list[np.ndarray], gaps: list[int | None], overlaps: list[int], rng, height: int
) -> np.ndarray:
    """Lay ink glyphs out left to right; ``gaps[k]`` None means glyph k+1 touches glyph k,
    its ink overlapping by ``overlaps[k]`` pixels. Returns a dark-on-white uint8 image."""
    margin = int(rng.integers(16, 40))
    tops = [margin + int(rng.integers(0, max(1, height - g.shape[0] + 1))) for g in glyphs]
    xs = [margin]
    for k in range(1, len(glyphs)):
        prev, cur = glyphs[k - 1], glyphs[k]
        if gaps[k - 1] is None:
            meet = _touch_offset(prev, tops[k - 1], cur, tops[k])
            if meet is None:
                meet = prev.shape[1]
            xs.append(xs[-1] + meet - (overlaps[k - 1] - 1))
        else:
            xs.append(xs[-1] + prev.shape[1] + gaps[k - 1])
    width = max(x + g.shape[1] for x, g in zip(xs, glyphs, strict=True)) + margin
    ink = np.zeros((height + 2 * margin, width), np.float32)
    for x, y, g in zip(xs, tops, glyphs, strict=True):
        region = ink[y : y + g.shape[0], x : x + g.shape[1]]
        np.maximum(region, g, out=region)
    return to_uint8(1.0 - ink)


def make_row(sources: Sources, source: str, kind: str, rng) -> tuple[str, np.ndarray]:
    """One row of 4-6 digits of ``kind`` from ``source`` ('mnist' or 'semeion')."""
    n = int(rng.integers(4, 7))
    labels = [int(d) for d in rng.integers(0, 10, n)]
    wide = set()
    joined = set()  # k: digit k+1 touches digit k
    if kind == "wide":
        wide = {int(k) for k in rng.choice(n, int(rng.integers(1, 3)), replace=False)}
        for k in wide:
            labels[k] = int(rng.choice(WIDE_DIGITS))
    elif kind == "joined":
        joined = {k for k in range(n - 1) if rng.random() < 0.35} or {int(rng.integers(0, n - 1))}
        for k in joined:
            if rng.random() < 0.4:  # "00", "11": the same digit twice, joined
                labels[k + 1] = labels[k]
    height = int(rng.integers(56, 100))
    if source == "mnist":
        by_label, ink_of = sources.mnist_by_label(), sources.mnist_ink
    else:
        by_label, ink_of = sources.semeion_by_label(), lambda i: sources.semeion[0][i]
    glyphs = []
    for k, d in enumerate(labels):
        ink = ink_of(int(rng.choice(by_label[d])))
        h = int(height * rng.uniform(0.88, 1.0))
        if source == "semeion":
            # Semeion stretched every digit into a square box; give it back a
            # handwriting-like aspect.
            aspect = rng.uniform(0.6, 0.85)
        else:
            aspect = ink.shape[1] / ink.shape[0]
        if k in wide:
            aspect *= rng.uniform(1.3, 1.8)
        glyphs.append(resize(ink, round(h * aspect), h))
    gaps = [None if k in joined else int(height * rng.uniform(0.12, 0.45)) for k in range(n - 1)]
    overlaps = [int(rng.integers(1, 5)) for _ in range(n - 1)]
    return "".join(map(str, labels)), compose_row(glyphs, gaps, overlaps, rng, height)


def rows(ctx: Context) -> dict:
    from mnist_desktop.numbers import read_number

    rng = np.random.default_rng(ctx.seed + 1)
    by_kind: dict[str, list] = {k: [] for k in ROW_KINDS}
    by_source: dict[str, list] = {"mnist": [], "semeion": []}
    misses = []
    for source in ("semeion", "mnist"):
        for kind in ROW_KINDS:
            for i in range(ctx.rows_n):
                truth, image = make_row(ctx.sources, source, kind, rng)
                reading = read_number(ctx.classifier, image)
                by_kind[kind].append((truth, reading.text))
                by_source[source].append((truth, reading.text))
                if reading.text != truth:
                    misses.append(number_miss(image, f"{source} {kind} #{i}", truth, reading))
    ctx.sheets["rows"] = [str(p) for p in contact_sheets("rows", misses, wide=True)]
    everything = by_source["mnist"] + by_source["semeion"]
    return {
        "by_kind": {k: exact_tally(v) for k, v in by_kind.items()},
        "by_source": {k: exact_tally(v) for k, v in by_source.items()},
        "all": exact_tally(everything),
        "mnist_digits": ctx.sources.mnist[2],
    }


# ---- stress --------------------------------------------------------------- #


def _plain(digit: np.ndarray) -> np.ndarray:
    """The MNIST digit as it is (4 px margin), upscaled 4x to 112 px."""
    return resize(digit, 112, 112)


def _tight(digit: np.ndarray, margin: int = 0) -> np.ndarray:
    ink = crop_to_ink(digit, 0.0)
    scale = 120 / max(ink.shape)
    out = resize(ink, round(ink.shape[1] * scale), round(ink.shape[0] * scale))
    return np.pad(out, margin) if margin else out


def _low(digit: np.ndarray, side: int) -> np.ndarray:
    """Cropped to the ink, padded to a square, reduced to side x side (area average),
    upscaled bicubic to 64 px: a tiny scan blown up (the digit fills the frame)."""
    ink = crop_to_ink(digit, 0.0)
    h, w = ink.shape
    s = max(h, w)
    square = np.zeros((s, s), np.float32)
    square[(s - h) // 2 : (s - h) // 2 + h, (s - w) // 2 : (s - w) // 2 + w] = ink
    return resize(resize(square, side, side, Image.BOX), 64, 64)


def _filtered(ink: np.ndarray, flt) -> np.ndarray:
    img = Image.fromarray(to_uint8(ink)).filter(flt)
    return np.asarray(img, np.float32) / 255.0


CONTROL = "plain 112 px (control)"
STRESS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    CONTROL: _plain,
    "tight crop, 120 px": _tight,
    "tight crop + 8 px margin": lambda d: _tight(d, 8),
    "bold (dilated 7 px)": lambda d: _filtered(_plain(d), ImageFilter.MaxFilter(7)),
    "blurred (Gaussian r=4)": lambda d: _filtered(_plain(d), ImageFilter.GaussianBlur(4)),
    "16x16 upscaled to 64": lambda d: _low(d, 16),
    "8x8 upscaled to 64": lambda d: _low(d, 8),
    "binarised (112 px, >50 %)": lambda d: (_plain(d) > 0.5).astype(np.float32),
}
"""Transforms of an MNIST digit (float ink, white on black, 0..1) into ink 0..1; the
section's "all" leaves the control out."""


def stress(ctx: Context) -> dict:
    images, labels, what = ctx.sources.mnist
    rng = np.random.default_rng(ctx.seed + 2)
    pick = rng.choice(len(labels), min(ctx.stress_n, len(labels)), replace=False)
    results, misses, stressed = {}, [], []
    for name, transform in STRESS.items():
        inks = [transform(images[i].astype(np.float32) / 255.0) for i in pick]
        for polarity in ("dark on white", "white on black"):
            items = []
            for i, ink in zip(pick, inks, strict=True):
                image = to_uint8(1.0 - ink if polarity == "dark on white" else ink)
                truth = int(labels[i])
                prediction = ctx.classifier.classify(image)
                items.append((truth, prediction))
                if prediction.digit != truth:
                    misses.append(
                        digit_miss(image, f"{name[:18]} {polarity[:5]}", truth, prediction)
                    )
            results[f"{name} | {polarity}"] = tally(items)
            if name != CONTROL:
                stressed += items
    ctx.sheets["stress"] = [str(p) for p in contact_sheets("stress", misses)]
    return {"by_kind": results, "all": tally(stressed), "mnist_digits": what}


# ---- paper ---------------------------------------------------------------- #


def _paper(w: int, h: int, rng, tone: float = 0.96) -> np.ndarray:
    return np.clip(tone + rng.normal(0, 0.01, (h, w)), 0, 1).astype(np.float32)


def ruled(w, h, rng, spacing, thick, grey, first=None, tone=0.96) -> np.ndarray:
    page = _paper(w, h, rng, tone)
    y = int(rng.integers(4, spacing)) if first is None else first
    while y < h:
        page[y : y + thick] = np.minimum(page[y : y + thick], grey)
        y += spacing
    return page


def squared(w, h, rng, spacing, thick, grey, tone=0.96) -> np.ndarray:
    page = ruled(w, h, rng, spacing, thick, grey, tone=tone)
    x = int(rng.integers(2, spacing))
    while x < w:
        page[:, x : x + thick] = np.minimum(page[:, x : x + thick], grey)
        x += spacing
    return page


def form(w, h, rng, what: str) -> np.ndarray:
    page = _paper(w, h, rng, 0.97)
    img = Image.fromarray(to_uint8(page))
    draw = ImageDraw.Draw(img)
    if what == "box":
        draw.rectangle((20, 20, w - 21, h - 21), outline=60, width=2)
    elif what == "digit boxes":
        side = (w - 40) // 6
        for k in range(6):
            x = 20 + k * side
            draw.rectangle((x, (h - side) // 2, x + side, (h + side) // 2), outline=70, width=2)
    else:  # a line to write on
        draw.line((20, int(h * 0.7), w - 20, int(h * 0.7)), fill=70, width=2)
    return np.asarray(img, np.float32) / 255.0


def blank_pages(rng) -> dict[str, np.ndarray]:
    return {
        "ruled 640x480, 30 px, 1 px lines": ruled(640, 480, rng, 30, 1, 0.70),
        "ruled 640x480, 25 px, 2 px lines": ruled(640, 480, rng, 25, 2, 0.62),
        "ruled 300x300 crop, 34 px, 3 px lines": ruled(300, 300, rng, 34, 3, 0.60),
        "ruled 200x120 crop, 28 px, 3 px lines": ruled(200, 120, rng, 28, 3, 0.65),
        "squared 640x480, 20 px, 1 px": squared(640, 480, rng, 20, 1, 0.75),
        "squared 300x300, 25 px, 2 px": squared(300, 300, rng, 25, 2, 0.70),
        "graph 200x200, 18 px, 1 px": squared(200, 200, rng, 18, 1, 0.78),
        "form: printed box": form(600, 200, rng, "box"),
        "form: six digit boxes": form(600, 160, rng, "digit boxes"),
        "form: line to write on": form(600, 150, rng, "line"),
    }


def on_lined_paper(ink: np.ndarray, paper: str, rng) -> np.ndarray:
    """A dark digit on ruled paper (a 3 px grey line crossing it) or on graph paper."""
    h, w = ink.shape
    mx, my = int(rng.integers(20, 50)), int(rng.integers(20, 50))
    pw, ph = w + 2 * mx, h + 2 * my
    if paper == "ruled":
        spacing = int(rng.integers(26, 35))
        # A line crosses the digit between 35 % and 65 % of its height.
        cross = my + int(h * rng.uniform(0.35, 0.65))
        page = ruled(pw, ph, rng, spacing, 3, rng.uniform(0.5, 0.75), first=cross % spacing)
    else:
        page = squared(pw, ph, rng, int(rng.integers(18, 27)), 1, rng.uniform(0.65, 0.8))
    full = np.zeros_like(page)
    full[my : my + h, mx : mx + w] = ink
    return to_uint8(page * (1.0 - 0.92 * full))


PAPER_N = 40
"""Digits per paper kind and source."""


def paper(ctx: Context) -> dict:
    from mnist_desktop.numbers import read_number

    rng = np.random.default_rng(ctx.seed + 3)
    misses = []
    blanks = {}
    for name, page in blank_pages(rng).items():
        image = to_uint8(page)
        prediction = ctx.classifier.classify(image)
        reading = read_number(ctx.classifier, image)
        blanks[name] = {"classify": prediction.label, "read": reading.text}
        if not prediction.blank:
            misses.append(digit_miss(image, name, "blank", prediction))
    sources = ctx.sources
    results = {}
    for kind in ("ruled", "graph"):
        for source in ("mnist", "semeion"):
            items = []
            for i in range(PAPER_N):
                if source == "mnist":
                    idx = int(rng.integers(len(sources.mnist[1])))
                    truth, ink = int(sources.mnist[1][idx]), sources.mnist_ink(idx)
                else:
                    idx = int(rng.integers(len(sources.semeion[1])))
                    truth, ink = int(sources.semeion[1][idx]), sources.semeion[0][idx]
                h = int(rng.integers(56, 96))
                w = round(h * ink.shape[1] / ink.shape[0])
                image = on_lined_paper(resize(ink, w, h), kind, rng)
                prediction = ctx.classifier.classify(image)
                items.append((truth, prediction))
                if prediction.digit != truth:
                    misses.append(digit_miss(image, f"{kind} {source} #{i}", truth, prediction))
            results[f"{kind} | {source}"] = tally(items)
    ctx.sheets["paper"] = [str(p) for p in contact_sheets("paper", misses)]
    return {
        "blank_pages": blanks,
        "blank_pages_no_digit": sum(v["classify"] == "no digit" for v in blanks.values()),
        "by_kind": results,
        "mnist_digits": sources.mnist[2],
    }


RUNNERS = {
    "photos": photos,
    "scans": scans,
    "numbers": numbers,
    "rows": rows,
    "stress": stress,
    "paper": paper,
}


# --------------------------------------------------------------------------- #
# Table
# --------------------------------------------------------------------------- #


def print_table(name: str, result: dict) -> None:
    print(f"\n== {name}  ({result['seconds']} s, {result['cpu_seconds']} s CPU)")
    if name in ("numbers", "rows"):
        print(f"  {'':34} {'n':>5} {'exact':>7} {'rate':>8}  {'too many':>8} {'too few':>8}")
        groups = {"all": result["all"]}
        for key in ("by_kind", "by_source"):
            groups.update(result.get(key, {}))
        for k, v in groups.items():
            print(
                f"  {k:34} {v['n']:5} {v['exact']:7} {pct(v['exact_rate']):>8}"
                f"  {v['too_many_digits']:8} {v['too_few_digits']:8}"
            )
        for f in result.get("files", []):
            mark = "ok " if f["truth"] == f["read"] else "MISS"
            print(
                f"    {mark} {f['file']:28} truth {f['truth']:12} read {f['read'] or '(nothing)'}"
            )
        if "mnist_digits" in result:
            print(f"  MNIST digits: {result['mnist_digits']}")
        return
    if name == "paper":
        print(
            f"  blank pages read as 'no digit': {result['blank_pages_no_digit']}"
            f" of {len(result['blank_pages'])}"
        )
        for k, v in result["blank_pages"].items():
            read = v["read"] or "(nothing)"
            if len(read) > 24:
                read = f"{read[:20]}... ({len(read)} digits)"
            print(f"    {k:40} classify: {v['classify']:14} read: {read}")
    print(f"  {'':44} {'n':>5} {'accuracy':>9} {'no digit':>14} {'not digit':>9}  top confusions")
    groups = dict(result.get("by_kind", {}))
    if "accuracy" in result.get("all", {}):
        groups["all (stress: without the control)" if name == "stress" else "all"] = result["all"]
    for k, v in groups.items():
        print(
            f"  {k:44} {v['n']:5} {pct(v['accuracy']):>9}"
            f" {v['no_digit']:5} ({pct(v['no_digit_share']):>6})"
            f" {v['not_a_digit']:9}  {', '.join(v['top_confusions'])}"
        )
    if "mnist_digits" in result:
        print(f"  MNIST digits: {result['mnist_digits']}")


# --------------------------------------------------------------------------- #


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        default=str(ROOT.parent / "shared" / "data"),
        help="folder holding real/ and mnist/ (default: ../shared/data beside the repository)",
    )
    parser.add_argument("--engine", default="litert", choices=("litert", "keras", "auto"))
    parser.add_argument("--model", default=None, help="model file (default: the bundled one)")
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only this section (repeatable)"
    )
    parser.add_argument("--stress-n", type=int, default=500, help="MNIST digits per transform")
    parser.add_argument("--rows-n", type=int, default=50, help="rows per kind and source")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()

    from mnist_desktop.ml.inference import load_classifier

    data = Path(args.data).resolve()
    if not (data / "real").is_dir():
        parser.error(f"{data} has no real/ folder; give the shared data folder with --data")
    classifier = load_classifier(args.engine, args.model)
    card = classifier.card
    ctx = Context(classifier, data, Sources(data, card), args.seed, args.stress_n, args.rows_n)
    run = {
        "command": shlex.join(["python", "benchmarks/real.py", *sys.argv[1:]]),
        "engine": classifier.engine,
        "model": classifier.model_path.name,
        "model_created": card.get("created"),
        "measured": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    out = Path(args.out)
    results = {}
    if out.is_file() and args.only:
        try:
            results = json.loads(out.read_text())
        except ValueError:
            results = {}
    results.setdefault("sections", {})
    started, cpu = time.perf_counter(), time.process_time()
    for name in dict.fromkeys(args.only or SECTIONS):
        t0, c0 = time.perf_counter(), time.process_time()
        result = RUNNERS[name](ctx)
        result["seconds"] = round(time.perf_counter() - t0, 1)
        # CPU time of this process: comparable between runs on a busy machine.
        result["cpu_seconds"] = round(time.process_time() - c0, 1)
        result["contact_sheets"] = [
            str(Path(p).relative_to(ROOT)) for p in ctx.sheets.get(name, [])
        ]
        result["run"] = run
        results["sections"][name] = result
        print_table(name, result)
        sheets = result["contact_sheets"]
        print(f"  misses: {', '.join(sheets) if sheets else 'none'}", flush=True)
    total = round(time.perf_counter() - started, 1)
    results.update(run)
    results["seconds"] = total
    results["cpu_seconds"] = round(time.process_time() - cpu, 1)
    results["sections"] = {k: results["sections"][k] for k in SECTIONS if k in results["sections"]}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{total} s ({results['cpu_seconds']} s CPU); results in {out}")


if __name__ == "__main__":
    main()
