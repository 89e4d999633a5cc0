"""One way to write a probability, so the headline, the bars and the digit strip agree.

Rounded to whole percents a 99.7 % answer read "100 %" on its bar and
"99.7 % sure" in the headline.  Here a probability is never written as 100 %
unless it is 1 at the precision shown: the top end reads ">99%" (and a small
but visible share "<1%", as the chart always wrote it).
"""

from __future__ import annotations


def percent(p: float, decimals: int = 0) -> str:
    """``p`` (0..1) as "42%", with ``decimals`` places; ">99%" and "<1%" near the ends."""
    scale = 10**decimals
    value = round(p * 100 * scale) / scale
    top = 100 - 1 / scale
    if value >= 100 and p < 1:
        return f">{top:.{decimals}f}%"
    if value <= 0 and p >= 0.0005:
        return f"<{1 / scale:.{decimals}f}%"
    return f"{value:.{decimals}f}%"
