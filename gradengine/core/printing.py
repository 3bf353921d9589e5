"""How a Tensor prints: PyTorch's layout (``torch._tensor_str``), so that printed output
reads the same as in PyTorch -- four decimals, or integers with a point, or scientific
notation when the magnitudes call for it; rows aligned under ``tensor(``; summarised
beyond ``threshold`` elements; the dtype named only when it is not a default one.

``ge.set_printoptions(precision=4, threshold=1000, edgeitems=3, linewidth=80,
profile=None, sci_mode=None)`` changes the layout, as ``torch.set_printoptions``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["set_printoptions", "tensor_repr"]


class _Options:
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode = None


PRINT_OPTS = _Options()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """``torch.set_printoptions``: ``profile`` "default", "short" or "full", or each option
    on its own; ``sci_mode`` True / False forces or forbids scientific notation (None:
    chosen from the values)."""
    if profile == "default":
        PRINT_OPTS.precision, PRINT_OPTS.threshold = 4, 1000
        PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 3, 80
    elif profile == "short":
        PRINT_OPTS.precision, PRINT_OPTS.threshold = 2, 1000
        PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 2, 80
    elif profile == "full":
        PRINT_OPTS.precision, PRINT_OPTS.threshold = 4, math.inf
        PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 3, 80
    elif profile is not None:
        raise ValueError(f"set_printoptions: profile must be 'default', 'short' or 'full', "
                         f"got {profile!r}")
    if precision is not None:
        PRINT_OPTS.precision = int(precision)
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = int(edgeitems)
    if linewidth is not None:
        PRINT_OPTS.linewidth = int(linewidth)
    PRINT_OPTS.sci_mode = sci_mode


class _Formatter:
    """One width and one notation for every element (torch's ``_Formatter``)."""

    def __init__(self, a):
        self.floating = a.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        p = PRINT_OPTS.precision
        flat = a.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.max_width = max(self.max_width, len(f"{v}"))
            return
        with np.errstate(all="ignore"):
            vals = flat.astype(np.float64)
            vals = vals[np.isfinite(vals) & (vals != 0)]
        if vals.size == 0:
            return
        absv = np.abs(vals)
        lo, hi = float(absv.min()), float(absv.max())
        self.int_mode = bool(np.all(vals == np.ceil(vals)))
        self.sci_mode = (hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4) \
            if PRINT_OPTS.sci_mode is None else bool(PRINT_OPTS.sci_mode)
        if self.sci_mode:
            width = max(len(f"{v:.{p}e}") for v in vals.tolist())
        elif self.int_mode:
            width = max(len(f"{v:.0f}") + 1 for v in vals.tolist())
        else:
            width = max(len(f"{v:.{p}f}") for v in vals.tolist())
        self.max_width = max(self.max_width, width)

    def format(self, v):
        p = PRINT_OPTS.precision
        if self.floating:
            if self.sci_mode:
                s = f"{v:{self.max_width}.{p}e}"
            elif self.int_mode:
                s = f"{v:.0f}"
                if not (math.isinf(v) or math.isnan(v)):
                    s += "."
            else:
                s = f"{v:.{p}f}"
        else:
            s = f"{v}"
        return (self.max_width - len(s)) * " " + s


def _summarized(a):
    """The edge items of ``a`` only (what a summarised print shows), for the formatter."""
    e = PRINT_OPTS.edgeitems
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * e:
        rows = list(range(e)) + list(range(a.shape[0] - e, a.shape[0]))
    else:
        rows = range(a.shape[0])
    if a.ndim == 1:
        return a[list(rows)]
    return np.stack([_summarized(a[i]) for i in rows]) if len(rows) else a


def _vector(a, indent, summarize, fmt):
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / (fmt.max_width + 2)))
    e = PRINT_OPTS.edgeitems
    if summarize and a.shape[0] > 2 * e:
        data = [fmt.format(v) for v in a[:e].tolist()] + [" ..."] + \
            [fmt.format(v) for v in a[-e:].tolist()]
    else:
        data = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _body(a, indent, summarize, fmt):
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    e = PRINT_OPTS.edgeitems
    if summarize and a.shape[0] > 2 * e:
        slices = [_body(a[i], indent + 1, summarize, fmt) for i in range(e)] + ["..."] + \
            [_body(a[i], indent + 1, summarize, fmt) for i in range(a.shape[0] - e,
                                                                    a.shape[0])]
    else:
        slices = [_body(a[i], indent + 1, summarize, fmt) for i in range(a.shape[0])]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def tensor_repr(a, device, default_float, grad_fn=None, requires_grad=False):
    """``repr`` of a tensor holding the host array ``a``."""
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    if device != "cpu":
        suffixes.append(f"device='{device}'")
    default = a.dtype in (np.dtype(default_float), np.dtype(np.int64), np.dtype(np.bool_))
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if a.dtype != np.dtype(default_float):
            suffixes.append(f"dtype={a.dtype.name}")
        body = "[]"
    else:
        if not default:
            suffixes.append(f"dtype={a.dtype.name}")
        summarize = a.size > PRINT_OPTS.threshold
        fmt = _Formatter(_summarized(a) if summarize else a)
        body = _body(a, indent, summarize, fmt)
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    out = [prefix + body]
    last = len(out[0]) - out[0].rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > PRINT_OPTS.linewidth:
            out.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            out.append(", " + s)
            last += len(s) + 2
    out.append(")")
    return "".join(out)
