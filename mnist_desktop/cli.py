"""The command line: ``mnist-digits predict | evaluate | train | self-test``."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from . import __version__


def _error(message: str) -> None:
    print(f"mnist-digits: error: {message}", file=sys.stderr)


def _report_file_error(path: str, message: str, as_json: bool) -> None:
    """One line for a file that cannot be read: JSON on stdout, or an error on stderr."""
    from .imageio import display_path

    shown = display_path(path)
    if as_json:
        print(json.dumps({"path": shown, "error": message}), flush=True)
    else:
        # Name the file as the user typed it, like the lines of the files that worked.
        prefix = f"{display_path(os.path.basename(path))}: "
        _error(f"{shown}: {message.removeprefix(prefix)}")


def _format_probs(probs: Sequence[float]) -> str:
    return " ".join(f"{d}:{p:.3f}" for d, p in enumerate(probs))


def _load(args: argparse.Namespace):
    from .ml.inference import load_classifier

    return load_classifier(args.engine, args.model)


BATCH = 256


class Progress:
    """A one-line progress bar on stderr, only when it is a terminal."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done = total, 0
        self.enabled = enabled and sys.stderr.isatty() and total > 1
        self.started = time.perf_counter()

    def advance(self, n: int) -> None:
        self.done += n
        if self.enabled:
            width = 30
            filled = int(width * self.done / self.total)
            rate = self.done / max(1e-9, time.perf_counter() - self.started)
            sys.stderr.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} ({rate:.0f} images/s)"
            )
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: the CSV keeps the rows written so far."""


def _on_sigterm(signum, frame) -> None:
    raise _Terminated()


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Within the ``with`` block, SIGTERM raises :class:`_Terminated` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def cmd_predict(args: argparse.Namespace) -> int:
    from .csvcells import RESULTS_HEADER
    from .csvfile import ResultsCsv
    from .files import classify_files, find_images
    from .imageio import display_path

    found = find_images(args.files)
    paths = found.paths
    if found.skipped:
        print(
            f"mnist-digits: note: skipped {found.skipped} non-image file(s) in folders",
            file=sys.stderr,
        )
    if not paths and not found.errors:
        _error("no images found in " + ", ".join(display_path(p) for p in args.files))
        return 1
    # Check where the CSV goes before any work (and before the model loads).
    out = ResultsCsv(args.csv, RESULTS_HEADER, [*args.files, *paths]) if args.csv else None
    with out if out is not None else contextlib.nullcontext(), _sigterm_as_interrupt():
        classifier = _load(args)
        # Quiet the per-file lines when a folder feeds a CSV file: the bar shows progress.
        quiet = out is not None and len(paths) > 1 and not args.json
        # A bar on the terminal when the results go elsewhere (a CSV file, a pipe).
        progress = Progress(len(paths), enabled=quiet or not sys.stdout.isatty())
        failed = 0
        try:
            for folder, message in found.errors:
                failed += 1
                if out is not None:
                    out.writerow([display_path(folder), "", "", *[""] * 10, "", message])
                if args.json or not quiet:
                    _report_file_error(folder, message, args.json)
            for chunk in classify_files(classifier, paths, BATCH, args.polarity):
                for result in chunk:
                    failed += _report_result(result, args, out, quiet)
                if out is not None:
                    out.flush()  # an interrupted run keeps these rows
                progress.advance(len(chunk))
        finally:
            progress.close()
    if quiet:
        classified = len(paths) - failed + len(found.errors)
        print(f"{classified} classified, {failed} unreadable; wrote {display_path(args.csv)}")
    return 1 if failed else 0


def _report_result(result, args: argparse.Namespace, out, quiet: bool) -> int:
    """Print and/or write one file's result; 1 if the file failed, else 0."""
    from .imageio import display_path

    path, prediction = display_path(result.path), result.prediction
    if prediction is None:
        if out is not None:
            out.writerow([path, "", "", *[""] * 10, "", result.error])
        if args.json or not quiet:
            _report_file_error(result.path, result.error, args.json)
        return 1
    if out is not None:
        digit = "" if prediction.digit is None else prediction.digit
        probs = [f"{p:.6f}" for p in prediction.probabilities]
        out.writerow(
            [path, digit, f"{prediction.confidence:.6f}", *probs, prediction.reason or "", ""]
        )
    if args.json:
        print(json.dumps({"path": path, **prediction.to_dict()}), flush=True)
    elif quiet:
        pass
    elif prediction.blank:
        print(f"{path}: no digit found (blank image)", flush=True)
    elif prediction.rejected:
        best = prediction.best
        print(
            f"{path}: not a digit (closest: {best} at {prediction.probabilities[best]:.0%})",
            flush=True,
        )
    else:
        print(
            f"{path}: {prediction.label} ({prediction.confidence:.2%})  "
            f"{_format_probs(prediction.probabilities)}",
            flush=True,
        )
    return 0


def cmd_read(args: argparse.Namespace) -> int:
    """Read each file as a number: a row of digits."""
    from .files import file_error
    from .imageio import display_path
    from .numbers import read_number

    classifier = _load(args)
    failed = 0
    for path in args.files:
        try:
            reading = read_number(classifier, path, args.polarity)
        except Exception as exc:  # noqa: BLE001  # one file never stops the run
            failed += 1
            _report_file_error(path, file_error(path, exc), args.json)
            continue
        shown = display_path(path)
        digits = [d.to_dict() for d in reading.digits]
        n = reading.left_out  # marks the model says are not digits
        marks = f"{n} mark that is" if n == 1 else f"{n} marks that are"
        left_out = f"  ({marks} not a digit left out)" if n else ""
        if args.json:
            entry = {"path": shown, "text": reading.text, "digits": digits, "left_out": n}
            print(json.dumps(entry), flush=True)
        elif not reading.text:
            print(f"{shown}: no digits found{left_out}", flush=True)
        else:
            detail = " ".join(
                f"{d['digit']}({d['confidence']:.0%})" for d in digits if d["digit"] is not None
            )
            note = "  (some digits touch)" if reading.touching else ""
            print(f"{shown}: {reading.text}  {detail}{note}{left_out}", flush=True)
    return 1 if failed else 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    from .ml.data import load_mnist
    from .ml.train import accuracy_report
    from .preprocess import preprocess_batch

    data = load_mnist(args.data)
    x, y = data.x_test, data.y_test
    if args.limit:
        x, y = x[: args.limit], y[: args.limit]
    classifier = _load(args)
    started = time.perf_counter()
    images = preprocess_batch(x)
    probs = np.concatenate(
        [classifier.probabilities(images[i : i + 500]) for i in range(0, len(images), 500)]
    )
    report = accuracy_report(y, probs.argmax(axis=1))
    report["engine"] = classifier.engine
    report["seconds"] = round(time.perf_counter() - started, 2)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"MNIST test set ({data.source}), {report['n']} images, {classifier.describe()}")
    print(
        f"accuracy: {report['accuracy']:.4%}  ({report['n'] - round(report['accuracy'] * report['n'])} errors)"
    )
    print("per class: " + "  ".join(f"{d}:{a:.4f}" for d, a in enumerate(report["per_class"])))
    print("confusion (rows: true digit, columns: predicted):")
    print("     " + "".join(f"{d:>6}" for d in range(10)))
    for d, row in enumerate(report["confusion"]):
        print(f"{d:>5}" + "".join(f"{v:>6}" for v in row))
    return 0


FAR_BELOW = 0.005
"""A trained model whose validation accuracy is more than this below the bundled
model's is saved with a warning (the bundled one: 99.68 %)."""


def _train_target(args: argparse.Namespace) -> Path | None:
    """Where ``train`` writes: --out, the bundled model (--replace-bundled only) or a
    new run folder in the user's data folder; None (after an error line) if refused."""
    from .corrections import default_root
    from .resources import default_model_path

    bundled = default_model_path(".keras")
    if args.replace_bundled:
        return bundled
    if args.out:
        out = Path(args.out)
        if out.with_suffix(".keras").resolve() == bundled.resolve():
            _error(
                f"{args.out} is the bundled model the app loads; pass --replace-bundled to "
                "replace it, or choose another --out"
            )
            return None
        return out.with_suffix(".keras")
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return default_root().parent / "runs" / stamp / "mnist_cnn.keras"


def cmd_train(args: argparse.Namespace) -> int:
    from .ml.data import load_mnist
    from .ml.inference import read_card, tensorflow_available
    from .ml.train import TrainConfig, train
    from .resources import default_model_path

    if not tensorflow_available():
        _error("training needs TensorFlow, which this installation does not include")
        return 2
    out = _train_target(args)
    if out is None:
        return 2
    try:  # read now: --replace-bundled overwrites it
        bundled_accuracy = read_card(default_model_path(".keras")).get("validation_accuracy")
    except Exception:
        bundled_accuracy = None

    data = load_mnist(args.data)
    config = TrainConfig(
        epochs=args.epochs,
        seed=args.seed,
        batch_size=args.batch_size,
        members=args.members,
        polish_epochs=args.polish_epochs,
        polish_scans=args.polish_scans,
        learning_rate=args.learning_rate,
        pen_dir=args.pen,
        pen_variants=args.pen_variants,
        synthetic_marks=args.marks,
        outlier_weight=args.outlier_weight,
        mnist_weight=args.mnist_weight,
        lowres_share=args.lowres_share,
        binary_share=args.binary_share,
        segment_outliers=args.segment_outliers,
        style_digits=args.styles,
        boxed_digits=args.boxed,
        init=args.init,
        teacher=args.teacher,
        teacher_weight=args.teacher_weight,
        max_digit_rejection=args.max_digit_rejection,
    )
    print(f"training; the model will be written to {out}", flush=True)
    card = train(data, out, config)
    print(
        f"saved {out} (+ .tflite, .json): validation accuracy "
        f"{card['validation_accuracy']:.2%}, test accuracy {card['test_accuracy']:.2%}, "
        f"temperature {card['calibration']['temperature']}"
    )
    if "rejection" in card:
        rejection, pen = card["rejection"], card["pen"]
        print(
            f"held-out pen writers: {pen['held_out_accuracy']:.2%} right; 'not a digit' below "
            f"{rejection['reject_below']}: {rejection['validation_letters_rejected']:.1%} of "
            f"their letters, {rejection['validation_digits_rejected']:.2%} of their digits"
        )
    if not args.replace_bundled:
        print(
            f"use it with: mnist-digits predict --model {out} IMAGE, or mnist-desktop --model {out}"
        )
    warning = accuracy_warning(card["validation_accuracy"], bundled_accuracy, args.replace_bundled)
    if warning:
        print(f"mnist-digits: WARNING: {warning}", file=sys.stderr)
    return 0


def accuracy_warning(accuracy: float, bundled: object, replaced: bool) -> str | None:
    """What to say about a new model's validation ``accuracy`` far below the
    ``bundled`` model's (None when it is close, or the bundled one has no number)."""
    if not isinstance(bundled, float) or accuracy >= bundled - FAR_BELOW:
        return None
    undo = (
        " It REPLACED the bundled model: put the old one back with 'git checkout models/' "
        "(a checkout) or by reinstalling mnist-desktop."
        if replaced
        else ""
    )
    return (
        f"this model is much worse than the bundled one: validation accuracy {accuracy:.2%} "
        f"against {bundled:.2%}. Train longer (the README's Retraining section has "
        f"the commands the bundled model's networks were trained with).{undo}"
    )


def cmd_train_check(args: argparse.Namespace) -> int:
    from .corrections import default_root
    from .ml.data import load_mnist
    from .ml.inference import read_card, tensorflow_available
    from .resources import default_model_path, models_dir
    from .rowcheck import CheckConfig, train_check

    if not tensorflow_available():
        _error("training needs TensorFlow, which this installation does not include")
        return 2
    if args.replace_bundled:
        out = models_dir()
    elif args.out:
        out = Path(args.out)
    else:
        out = default_root().parent / "runs" / time.strftime("check-%Y%m%d-%H%M%S", time.gmtime())
    # The digit model's validation split stays out: the real-data rows are made of it.
    split_seed = read_card(default_model_path(".keras")).get("split_seed", 1)
    config = CheckConfig(
        rows=args.rows,
        validation_rows=min(600, max(10, args.rows // 8)),
        epochs=args.epochs,
        seed=args.seed,
        split_seed=split_seed,
    )
    data = load_mnist(args.data)
    train_check(data.x_train, data.y_train, out, config)
    if not args.replace_bundled:
        print("the app reads numbers with the bundled check; --replace-bundled makes it this one")
    return 0


def cmd_self_test(args: argparse.Namespace) -> int:
    from .selftest import run_self_test

    return run_self_test(args.engine, args.model)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnist-digits", description="Recognise handwritten digits in images."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    # --verbose is accepted before or after the command.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the TensorFlow/LiteRT runtimes' own log lines",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def engine_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--engine",
            choices=("auto", "keras", "litert"),
            default="auto",
            help="inference engine (auto, the default: litert when the model's LiteRT export "
            "matches it, else keras)",
        )
        p.add_argument("--model", help="model file (.keras or .tflite); default: the bundled one")

    p = sub.add_parser(
        "predict", parents=[common], help="classify image files (folders: all images in them)"
    )
    p.add_argument("files", nargs="+", metavar="FILE|DIR")
    p.add_argument("--csv", metavar="FILE", help="also write the results to a CSV file")
    p.add_argument("--json", action="store_true", help="print JSON Lines, one object per file")
    p.add_argument(
        "--polarity",
        choices=("auto", "light", "dark"),
        default="auto",
        help="ink colour: light on dark, dark on light, or detect (default)",
    )
    engine_options(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser(
        "read", parents=[common], help="read images of several digits in a row as numbers"
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print JSON Lines, one object per file")
    p.add_argument("--polarity", choices=("auto", "light", "dark"), default="auto")
    engine_options(p)
    p.set_defaults(func=cmd_read)

    p = sub.add_parser("evaluate", parents=[common], help="accuracy on the MNIST test set")
    p.add_argument("--data", help="directory of the MNIST IDX files (default: $MNIST_DATA)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, help="only the first N test images")
    engine_options(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("train", parents=[common], help="train, calibrate and export a model")
    p.add_argument("--data", help="directory of the MNIST IDX files (default: $MNIST_DATA)")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--polish-epochs",
        type=int,
        default=4,
        help="epochs on mild warps after the main ones (default: 4)",
    )
    p.add_argument(
        "--no-polish-scans",
        dest="polish_scans",
        action="store_false",
        help="polish without the low-resolution and binarised shares (as runs before "
        "2026-12-02 did)",
    )
    p.add_argument(
        "--learning-rate", type=float, default=2e-3, help="peak learning rate (default: 2e-3)"
    )
    p.add_argument(
        "--pen",
        metavar="DIR",
        help="pen strokes (digits.jsonl, letters.jsonl): learn its digits as drawn on the "
        "canvas and its letters and synthetic marks as 'not a digit'; validate on held-out writers",
    )
    p.add_argument(
        "--pen-variants",
        type=int,
        default=4,
        help="random drawings of each training writer's pen digit (default: 4)",
    )
    p.add_argument(
        "--marks", type=int, default=6000, help="synthetic non-digit marks (default: 6000)"
    )
    p.add_argument(
        "--styles",
        type=int,
        default=0,
        help="digits drawn in handwriting styles MNIST has few of: a flagged 1, a barred 7, "
        "an open 4, a hooked, looped or crossed 9, a flat-topped 3, a slashed 0 (default: 0)",
    )
    p.add_argument(
        "--boxed",
        type=int,
        default=0,
        help="narrow digits stretched into a square box, as scanners that size-normalise "
        "digits leave them (Semeion, USPS) (default: 0)",
    )
    p.add_argument(
        "--segment-outliers",
        type=int,
        default=0,
        help="pieces of digits and touching pairs taught as 'not a digit', so a number "
        "is not read from half a 0 or two joined digits (default: 0)",
    )
    p.add_argument(
        "--outlier-weight",
        type=float,
        default=0.5,
        help="loss weight of the letters and marks taught as 'not a digit' (default: 0.5)",
    )
    p.add_argument(
        "--mnist-weight",
        type=float,
        default=1.0,
        help="loss weight of each MNIST digit, the pen digits weighing 1 (default: 1)",
    )
    p.add_argument(
        "--lowres-share",
        type=float,
        default=0.0,
        help="share of training images blurred through 8-16 px and back, as upscaled "
        "small scans look (default: 0; the bundled model: 0.12)",
    )
    p.add_argument(
        "--binary-share",
        type=float,
        default=0.0,
        help="share of training images turned into binarised 11-16 cell scans "
        "(default: 0; the bundled model: 0.08)",
    )
    p.add_argument(
        "--max-digit-rejection",
        type=float,
        default=0.001,
        help="the 'not a digit' threshold rejects at most this share of the held-out "
        "writers' digits and a fifth of it of MNIST validation (default: 0.001)",
    )
    p.add_argument(
        "--init", metavar="MODEL", help="start from this trained .keras model (fine-tune it)"
    )
    p.add_argument(
        "--teacher",
        metavar="MODEL",
        help="distil this trained .keras model (e.g. an ensemble): its probabilities "
        "for each warped digit are blended into the digit's target",
    )
    p.add_argument(
        "--teacher-weight",
        type=float,
        default=0.5,
        help="the teacher's share of a digit's target (default: 0.5)",
    )
    p.add_argument(
        "--members",
        type=int,
        default=1,
        help="networks to train (seeds SEED, SEED+1, ...) and average (default: 1, as bundled)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--out",
        help="where to write the .keras model (its .tflite and .json go beside it); default: "
        "a new folder runs/<time>/ in your data folder",
    )
    where.add_argument(
        "--replace-bundled",
        action="store_true",
        help="replace the bundled model the app loads (models/mnist_cnn.*)",
    )
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "train-check",
        parents=[common],
        help="train the whole-digit check the number reader weighs its cuts with",
    )
    p.add_argument("--data", help="directory of the MNIST IDX files (default: $MNIST_DATA)")
    p.add_argument("--rows", type=int, default=5000, help="rows composed to learn from")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--out", metavar="DIR", help="write whole_check.* into DIR")
    where.add_argument(
        "--replace-bundled",
        action="store_true",
        help="replace the bundled check the app loads (models/whole_check.*)",
    )
    p.set_defaults(func=cmd_train_check)

    p = sub.add_parser(
        "self-test", parents=[common], help="classify the bundled sample digits; fail on a mismatch"
    )
    engine_options(p)
    p.set_defaults(func=cmd_self_test)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from .ml.data import DataError
    from .ml.inference import ModelError
    from .ml.quiet import set_verbose

    args = build_parser().parse_args(argv)
    set_verbose(args.verbose)
    try:
        return args.func(args)
    except (ModelError, DataError, ValueError) as exc:
        _error(str(exc))
        return 2
    except KeyboardInterrupt:
        _error("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
