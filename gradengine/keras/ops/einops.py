"""Keras 3's ``keras.ops.rearrange``: einops-style axis rearrangement
(``"b (h w) c -> b h w c"`` with ``h=4``), as a reshape, a transpose and a reshape."""

from __future__ import annotations

import math
import re

from ... import functional as F
from ._wrap import to_tensor, wrap_all

__all__ = ["rearrange"]


def _groups(axes):
    out = []
    for axis in axes:
        m = re.match(r"\(([\w\s]+)\)", axis)
        out.append(m.group(1).split() if m else [axis])
    return out


def rearrange(tensor, pattern, **axes_lengths):
    """Rearrange ``tensor``'s axes by an einops ``pattern`` (composition ``(a b)`` on either
    side; one unknown size per input group is inferred)."""
    x = to_tensor(tensor)
    lengths = dict(axes_lengths)
    left, right = re.split(r"\s*->\s*", pattern)
    in_axes = re.findall(r"\w+|\(.*?\)", left)
    out_axes = re.findall(r"\w+|\(.*?\)", right)
    if len(in_axes) != x.ndim:
        raise ValueError(f"rearrange: pattern {pattern!r} names {len(in_axes)} input axes, "
                         f"the tensor has shape {tuple(x.shape)}")
    sizes = {}
    for group, dim in zip(_groups(in_axes), x.shape):
        if len(group) == 1 and group[0] not in lengths:
            sizes[group[0]] = dim
            continue
        unknown = [a for a in group if a not in lengths]
        if len(unknown) > 1:
            raise ValueError(f"rearrange: cannot infer the sizes of {unknown} in {pattern!r}")
        if unknown:
            lengths[unknown[0]] = dim // math.prod(lengths[a] for a in group if a in lengths)
        sizes.update({a: lengths[a] for a in group})
    flat_in = [a for g in _groups(in_axes) for a in g]
    out_groups = _groups(out_axes)
    flat_out = [a for g in out_groups for a in g]
    x = F.reshape(x, tuple(sizes[a] for a in flat_in))
    x = F.transpose(x, tuple(flat_in.index(a) for a in flat_out))
    return F.reshape(x, tuple(math.prod(sizes[a] for a in g) for g in out_groups))


wrap_all(globals(), __all__)
