"""Offer to read an opened image as a number when it holds several digits.

In single-digit mode a photo of "2025" is read as one (unsure) digit; the
worker counts the digits the number reader finds in an opened image, and when
there are several the message bar says so, with a button that switches to
number mode (which keeps the image and reads it again).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from .messagebar import MessageBar

TAG = "several digits"
"""The message bar's tag for the offer (cleared when the canvas changes)."""


class NumberOffer(QObject):
    """Watches the answers shown; offers number mode for a many-digit image."""

    def __init__(
        self, result_shown: Signal, bar: MessageBar, read_as_number: Callable[[], None]
    ) -> None:
        super().__init__(bar)
        self._bar = bar
        self._read_as_number = read_as_number
        result_shown.connect(self._on_result)

    def _on_result(self, result) -> None:
        found = getattr(result, "digits_found", 0)
        if result.number is None and result.image is not None and found > 1:
            self._bar.show_message(
                f"This image seems to hold {found} digits, not one.",
                "info",
                tag=TAG,
                action=("Read as a number", self._read_as_number),
            )
        elif result.image is None or result.number is not None:
            self._bar.clear_message(TAG)  # a new drawing, or the number is read
