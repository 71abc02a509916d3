"""A PNG of a training run's loss curve, drawn with Pillow (no matplotlib needed)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np


def loss_curve_png(history: list[list[float]], path: str | Path, *,
                   reference: dict[str, float] | None = None, title: str = "") -> None:
    """Draw the mean masked cross-entropy (nats) against the training step.

    Parameters
    ----------
    history : list of [step, loss, ce]
        Rows from a checkpoint's ``history``; ``loss == -1`` marks a held-out validation row.
    reference : dict of str to float, optional
        Horizontal lines (label -> nats), e.g. the baselines' NLL.
    """
    from PIL import Image, ImageDraw

    from atomsynth.rt.atomic import write_bytes_atomic as atomic_write_bytes

    h = np.asarray(history, dtype=np.float64).reshape(-1, 3)
    tr, va = h[h[:, 1] >= 0], h[h[:, 1] < 0]
    w, ht, left, right, top, bottom = 900, 500, 70, 20, 40, 50
    img = Image.new("RGB", (w, ht), "white")
    d = ImageDraw.Draw(img)
    ys = np.concatenate([h[:, 2], list((reference or {}).values())]) if len(h) else np.ones(1)
    y0, y1 = 0.0, float(np.nanmax(ys)) * 1.05 or 1.0
    x1 = float(h[:, 0].max()) if len(h) else 1.0

    def px(step, val):
        return (left + (w - left - right) * step / x1,
                top + (ht - top - bottom) * (1 - (val - y0) / (y1 - y0)))

    d.rectangle([left, top, w - right, ht - bottom], outline="black")
    for i in range(6):
        val = y0 + (y1 - y0) * i / 5
        _, yy = px(0, val)
        d.line([left - 4, yy, left, yy], fill="black")
        d.text((8, yy - 6), f"{val:.2f}", fill="black")
        step = x1 * i / 5
        xx, _ = px(step, y0)
        d.line([xx, ht - bottom, xx, ht - bottom + 4], fill="black")
        d.text((xx - 12, ht - bottom + 8), f"{step:.0f}", fill="black")
    d.text((w // 2 - 40, ht - 20), "training step", fill="black")
    d.text((left, 10), title or "mean masked cross-entropy (nats)", fill="black")
    colors = ["#999999", "#cc6600", "#6600cc"]
    for i, (label, val) in enumerate((reference or {}).items()):
        _, yy = px(0, val)
        d.line([left, yy, w - right, yy], fill=colors[i % 3], width=1)
        d.text((w - right - 230, yy - 14), f"{label} {val:.2f}", fill=colors[i % 3])
    if len(tr) > 1:
        d.line([px(s, c) for s, _, c in tr], fill="#1f5fbf", width=2)
        d.text((left + 10, top + 8), "training (running mean)", fill="#1f5fbf")
    for s, _, c in va:
        x, y = px(s, c)
        d.ellipse([x - 4, y - 4, x + 4, y + 4], fill="#c0392b")
    if len(va):
        d.text((left + 10, top + 22), "held-out validation", fill="#c0392b")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    atomic_write_bytes(Path(path), buf.getvalue())
