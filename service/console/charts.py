"""Charts drawn on the server as SVG: no script, readable without JavaScript, allowed by the CSP."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT, TOP, LABEL_ROOM = 720, 160, 14, 28  # TOP: room for the count above the tallest bar


def bars(points: list[tuple[float, int]], title: str, label_format: str) -> Markup:
    """A bar chart of (time, count) points, with a title for screen readers and a tooltip per bar."""
    top = max((n for _, n in points), default=0) or 1
    slot = WIDTH / max(len(points), 1)
    parts = [
        f'<svg class="chart" viewBox="0 {-TOP} {WIDTH} {HEIGHT + TOP + LABEL_ROOM}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    every = max(len(points) // 8, 1)
    for i, (at, n) in enumerate(points):
        height = HEIGHT * n / top
        x = i * slot
        label = datetime.fromtimestamp(at, UTC).strftime(label_format)
        parts.append(
            f'<rect class="bar" x="{x + 1:.1f}" y="{HEIGHT - height:.1f}" width="{slot - 2:.1f}" '
            f'height="{height:.1f}"><title>{escape(label)}: {n}</title></rect>'
        )
        if n:
            parts.append(
                f'<text class="count" x="{x + slot / 2:.1f}" y="{HEIGHT - height - 3:.1f}">{n}</text>'
            )
        if i % every == 0:
            parts.append(
                f'<text class="axis" x="{x + slot / 2:.1f}" y="{HEIGHT + 18}">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text in it went through escape())
