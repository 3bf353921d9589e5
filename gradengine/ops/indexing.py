"""Indexing: ``x[idx]``, its gradient (a scatter-add), ``x[idx] = v`` and in-place writes.

An index is split into a template (ints, slices, None, Ellipsis, bools) and the index
arrays it holds; the arrays travel as Tensor arguments of the op, so ge.jit replays them as
values (``x[x.argmax()]`` reads this call's argmax) and a backward that saved them checks
their version.

Indexing follows PyTorch's rules, which differ from NumPy's in one place: where the
dimensions of an advanced index (an index tensor, list or mask) go when integers are in the
index too. PyTorch applies the integers (and slices, None, Ellipsis) first, as basic
indexing that removes those dimensions, and only then the index tensors: when the
remaining index tensors are adjacent, the dimensions they make stand where they stood,
otherwise they go first. NumPy counts an integer as an advanced index, so an integer that
separates itself from an index tensor by a slice sends the dimensions to the front::

    x = ge.zeros((2, 3, 20, 10, 5)); idx = ge.tensor([0, 1])
    x[1, :, 3:11:2, idx, 0:2].shape   # (3, 4, 2, 2) as torch; NumPy gives (2, 3, 4, 2)

Without integers, or with everything adjacent, both rules agree.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import backend
from ..core.op import apply, op
from ..core.tensor import Tensor
from ..errors import IndexingError


class _Slot:
    """The place of the k-th index array in an index template."""

    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k

    def __eq__(self, other):
        return type(other) is _Slot and other.k == self.k

    def __hash__(self):
        return hash(("slot", self.k))

    def __repr__(self):
        return f"<index {self.k}>"


def _seq_as_tuple(idx):
    """Whether a list index is read as a tuple of indices (PyTorch's and old NumPy's rule,
    deprecated in torch with a warning): a list of fewer than 32 items holding a tensor, a
    sequence, a slice, Ellipsis or None (``x[[[0, 1], [1, 1]]]`` is ``x[[0, 1], [1, 1]]``)."""
    if len(idx) >= 32:
        return False
    for it in idx:
        if it is None or it is Ellipsis or isinstance(it, (Tensor, list, tuple, np.ndarray,
                                                           slice)):
            return True
    return False


def split_index(idx, device):
    """``(template, index Tensors)`` for an index given by the user."""
    if type(idx) is list and _seq_as_tuple(idx):
        warnings.warn("getitem: a non-tuple sequence used as a multidimensional index is "
                      "read as a tuple (x[tuple(seq)]), as torch reads it (deprecated there); "
                      "write x[tuple(seq)] or x[ge.tensor(seq)]", UserWarning, stacklevel=3)
        idx = tuple(idx)
    items = idx if isinstance(idx, tuple) else (idx,)
    if isinstance(idx, tuple) and len(items) > 1 and items[-1] is Ellipsis and \
            sum(1 for it in items if it is Ellipsis) > 1:
        # ellipses after the first with nothing but ellipses after them name no dimension
        # (torch accepts x[..., ...] as x[...]; NumPy refuses a second one)
        first = next(i for i, it in enumerate(items) if it is Ellipsis)
        while len(items) > first + 1 and items[-1] is Ellipsis:
            items = items[:-1]
        idx = items
    template, tensors = [], []
    for it in items:
        # a tuple inside the index tuple is a sequence of indices, as a list (torch, NumPy)
        if isinstance(it, Tensor) or isinstance(it, (list, np.ndarray)) or (
                isinstance(it, tuple) and items is idx) or (
                device != "cpu" and hasattr(it, "__cuda_array_interface__")):
            if isinstance(it, np.ndarray) and device == "cpu" and it.dtype.kind in "iub":
                # read in place, not copied: an array that is a ge.jit program's value
                # (``labels.data``) is then found by the recorder and replayed as one
                it = Tensor._make(it, backend.CPU)
            elif not isinstance(it, Tensor):
                try:
                    it = Tensor(it if not isinstance(it, (list, tuple)) else np.asarray(it),
                                device=device)
                except ValueError as e:
                    raise IndexingError(f"getitem: invalid index {idx!r}: {e}") from None
            elif it.device != device:
                it = Tensor._make(backend.to_device_array(it.data, device), device)
            if it.dtype.kind not in "iub":
                raise IndexingError(f"getitem: tensors used as indices must be integer or bool, "
                                 f"got {it.dtype.name}")
            if it.dtype == np.uint8:  # a mask, as in torch (see _target)
                warnings.warn("getitem: indexing with dtype uint8 is deprecated (as in torch): "
                              "it is read as a bool mask; use a bool tensor", UserWarning,
                              stacklevel=3)
            template.append(_Slot(len(tensors)))
            tensors.append(it)
        else:
            if isinstance(it, float):
                raise IndexingError(f"getitem: only integers, slices, None, Ellipsis and "
                                 f"integer or bool tensors are valid indices, got {it!r}")
            if isinstance(it, slice) and it.step == 0:
                raise IndexingError(f"getitem: slice step cannot be zero in index {idx!r}")
            template.append(it)
    template = tuple(template) if isinstance(idx, tuple) else template[0]
    return template, tensors


def build(template, arrays):
    """The index for the arrays, from its template."""
    if isinstance(template, tuple):
        return tuple(arrays[t.k] if type(t) is _Slot else t for t in template)
    return arrays[template.k] if type(template) is _Slot else template


def _is_int(t):
    return isinstance(t, (int, np.integer)) and not isinstance(t, (bool, np.bool_))


def locate(template, arrays):
    """``(basic, index)`` such that ``x[idx]`` with PyTorch's placement is
    ``x[basic][index]`` (``basic`` None: plain ``x[index]``). Only an index holding both
    integers and index arrays needs the split: the integers go into ``basic``, applied
    first as a view, the index arrays stay in ``index``, so NumPy's rule on what remains
    is PyTorch's."""
    if not (isinstance(template, tuple) and any(type(t) is _Slot for t in template)
            and any(_is_int(t) for t in template)):
        return None, build(template, arrays)
    basic, rest = [], []
    for t in template:
        if type(t) is _Slot:
            a = arrays[t.k]
            basic.extend([slice(None)] * (a.ndim if a.dtype == np.bool_ else 1))
            rest.append(a)
        elif _is_int(t):
            basic.append(t)
        elif t is Ellipsis:
            basic.append(t)
            rest.append(t)
        else:  # a slice (applied in basic) or None (a new dimension there)
            basic.append(t)
            rest.append(slice(None))
    return tuple(basic), tuple(rest)


def _target(arr, template, arrays):
    """``(view of arr, index)`` where ``arr[idx]`` (PyTorch's placement) is
    ``view[index]``; the view shares arr's memory, so writes through it land in arr. A
    uint8 index array is a mask (torch's deprecated rule)."""
    if arrays:
        arrays = [a.astype(bool) if a.dtype == np.uint8 else a for a in arrays]
    basic, idx = locate(template, arrays)
    return (arr if basic is None else arr[basic]), idx


def _advanced(template):
    items = template if isinstance(template, tuple) else (template,)
    return any(type(t) is _Slot or isinstance(t, (bool, np.bool_)) for t in items)


@op(name="getitem", params=("template",), save=("rest",), view=True)
def getitem_op(xp, x, *rest):
    """x[idx] (basic and advanced NumPy indexing)."""
    *arrays, template = rest
    x, idx = _target(x, template, arrays)
    if not arrays:  # basic indexing: a view, also for a single element (x[0, ...])
        items = idx if isinstance(idx, tuple) else (idx,)
        if not any(i is Ellipsis for i in items) and not any(
                isinstance(i, (bool, np.bool_)) for i in items):
            idx = items + (Ellipsis,)
    return x[idx]


@getitem_op.vjp
def _(g, x_shape, rest, template):
    return (apply(index_grad, g, *rest, params=(x_shape, template)),) + (None,) * len(rest)


@op(params=("shape", "template"), save=("rest",))
def index_grad(xp, g, *rest):
    """zeros(shape) with g added at idx; repeated indices accumulate."""
    *arrays, shape, template = rest
    out = xp.zeros(shape, dtype=g.dtype)
    view, idx = _target(out, template, arrays)
    if not _advanced(template):
        view[idx] = g
    elif xp is np:
        np.add.at(view, idx, g)
    else:
        import cupyx
        cupyx.scatter_add(view, idx, g)
    return out


@index_grad.vjp
def _(gg, rest, template):
    return (apply(getitem_op, gg, *rest, params=(template,)),) + (None,) * len(rest)


def getitem(x, idx):
    """``x[idx]``; IndexError names the op and the shape."""
    template, tensors = split_index(idx, x.device)
    try:
        return apply(getitem_op, x, *tensors, params=(template,))
    except IndexingError as e:
        if type(idx) is list:  # read as a tuple: say so, with the index as written
            raise IndexingError(f"getitem: invalid index {idx!r} (read as the tuple "
                                f"{tuple(idx)!r}, as torch reads a list of sequences) for a "
                                f"tensor of shape {x.shape}: {e}") from None
        raise
    except IndexError as e:
        raise IndexingError(f"getitem: {e} (tensor of shape {x.shape})") from None


def basic_slice(x, idx):
    """``x[idx]`` for an index of ints and slices only (the gradient of a join)."""
    return apply(getitem_op, x, params=(idx,))


@op(params=("template",), save=("rest",))
def index_put(xp, x, v, *rest):
    """A copy of x with x[idx] = v (the out-of-place form of setitem)."""
    *arrays, template = rest
    out = x.copy()
    view, idx = _target(out, template, arrays)
    view[idx] = v
    return out


@index_put.vjp
def _(g, rest, template):
    gx = apply(index_put, g, 0.0, *rest, params=(template,))
    gv = apply(getitem_op, g, *rest, params=(template,))
    return (gx, gv) + (None,) * len(rest)


@op(params=("template",), differentiable=False)
def assign(xp, target, value, *rest):
    """target[idx] = value, in place: the write behind every in-place op."""
    *arrays, template = rest
    view, idx = _target(target, template, arrays)
    view[idx] = value


WHOLE = Ellipsis  # the template that names a whole tensor
