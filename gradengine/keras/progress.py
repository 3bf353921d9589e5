"""The per-epoch progress display of ``fit`` (``verbose=1``: a bar, ``verbose=2``: a line).

tqdm (a required dependency) draws the live bar; it is imported on first use.
"""

from __future__ import annotations

import sys
import time


class _Progress:
    """verbose=1: a tqdm bar per epoch with the running loss and metrics, then the epoch's
    summary line with a full text bar. The tqdm bar uses tqdm's ``delay``: it appears only
    when an epoch runs longer than 0.1 s, so tiny epochs cost a print, not a redraw.
    Without tqdm only the summary lines are printed. verbose=2: the summary line only."""

    def __init__(self, verbose, epoch, epochs, steps):
        self.verbose = verbose
        self.title = f"Epoch {epoch + 1}/{epochs}"
        self.steps = steps
        self.start = time.perf_counter()
        self.next_refresh = self.start + 0.1
        self.bar = None
        self.done = 0
        if verbose == 1:
            tqdm = _tqdm()
            if tqdm is not None:
                self.bar = tqdm(total=steps, desc=self.title, unit="step", file=sys.stdout,
                                leave=False, delay=0.1, mininterval=0.1, dynamic_ncols=True)

    def update(self, sums, seen, names):
        self.done += 1
        bar = self.bar
        if bar is not None:
            now = time.perf_counter()
            if now >= self.next_refresh:
                self.next_refresh = now + 0.1
                bar.set_postfix_str(_fmt({k: float(s) / seen for k, s in zip(names, sums)}),
                                    refresh=False)
            bar.update(1)

    def close(self, logs):
        if self.bar is not None:
            self.bar.close()
        secs = time.perf_counter() - self.start
        if self.verbose == 1:
            filled = 30 * self.done // max(self.steps, 1)
            bar = "=" * filled + "." * (30 - filled)
            line = f"{self.title}: {self.done}/{self.steps} [{bar}] - {secs:.2f}s - {_fmt(logs)}"
        else:
            line = f"{self.title} - {secs:.2f}s - {_fmt(logs)}"
        out = sys.stdout
        out.write(line + "\n")
        out.flush()


_TQDM = []


def _tqdm():
    if not _TQDM:
        try:
            from tqdm import tqdm
        except ImportError:
            tqdm = None
        _TQDM.append(tqdm)
    return _TQDM[0]


def _progress(verbose, epoch, epochs, steps):
    return _Progress(verbose, epoch, epochs, steps) if verbose else None


def _value(v):
    """Keras' number format: 4 decimals, or e-notation for magnitudes up to 1e-3."""
    if getattr(v, "ndim", 0):  # an array metric (F1Score per class)
        return "[" + " ".join(_value(x) for x in v.ravel()) + "]"
    v = float(v)
    return f"{v:.4f}" if abs(v) > 1e-3 else f"{v:.4e}"


def _fmt(logs):
    return " - ".join(f"{k}: {_value(v)}" for k, v in logs.items())
