"""Identicons: a learner without an avatar gets a 5x5 symmetric pattern drawn from their name."""

from __future__ import annotations

import hashlib
from html import escape


def identicon_svg(name: str, size: int = 40) -> str:
    digest = hashlib.sha256(name.encode()).digest()
    hue = digest[0] * 360 // 256
    colour = f"hsl({hue}, 55%, 50%)"
    cell = size / 5
    rects = []
    for row in range(5):
        for col in range(3):  # the right two columns mirror the left two
            if digest[1 + row * 3 + col] % 2:
                for x in {col, 4 - col}:
                    rects.append(f'<rect x="{x * cell:g}" y="{row * cell:g}" width="{cell:g}" '
                                 f'height="{cell:g}"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
            f'viewBox="0 0 {size} {size}" role="img" aria-label="{escape(name)}">'
            f'<rect width="{size}" height="{size}" fill="#f0f0f0"/>'
            f'<g fill="{colour}">{"".join(rects)}</g></svg>')
