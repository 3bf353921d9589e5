"""Autograd semantics against PyTorch: views after an in-place write to their base, hooks
and retain_grad, grad-mode switches, ``backward``'s keywords, ``.grad`` assignment,
formatting, broadcasting copies and index forms.

Each case is ``fn(M)`` run with ``M = gradengine`` and with ``M = torch``; it returns the
values it checks (tensors, lists, numbers, None). Every case also carries its expected
values (worked out by hand, and torch's), so the file checks gradengine without torch too.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradengine as ge


def _plain(v):
    """A case's result as nested Python lists / numbers / None, for comparing."""
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if hasattr(v, "detach"):
        v = v.detach()
    if getattr(v, "_is_zerotensor", lambda: False)():  # torch's lazy zeros (sgn's gradient)
        return np.zeros(tuple(v.shape)).tolist()
    if hasattr(v, "tolist"):
        return v.tolist()
    return v


def _same(a, b):
    a, b = _plain(a), _plain(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return (isinstance(a, (int, float)) and isinstance(b, (int, float))
                and np.isclose(a, b, rtol=1e-9, atol=1e-12))
    return a == b


CASES = {}


def case(expected):
    """Register ``fn(M)`` with the values worked out by hand."""
    def wrap(fn):
        CASES[fn.__name__] = (fn, expected)
        return fn
    return wrap


def _f64(M, data, rg=True):
    return M.tensor(data, dtype=M.float64, requires_grad=rg)


# ---------------------------------------------------------------- views after in-place writes
# A view taken before an in-place write into its base must, when used, carry the history of
# its base's current value (torch regenerates its grad_fn), down chains of views.

@case([6.0, 6.0, 0.0])
def a_view_taken_before_its_base_is_multiplied_in_place(M):
    a = _f64(M, [1.0, 1.0, 1.0])
    b = a * 2
    v = b[:2]
    b.mul_(3)
    v.sum().backward()
    return a.grad


@case([[0.0, 2.0, 0.0], [7.0, 0.0, 0.0]])
def a_view_taken_before_a_setitem_into_its_base(M):
    a = _f64(M, [1.0, 1.0, 1.0])
    w = _f64(M, [1.0, 1.0, 1.0])
    b = a * 2
    v = b[:2]
    b[:1] = w[:1] * 7
    v.sum().backward()
    return [a.grad, w.grad]


@case([[True, True, False], [7.0, 0.0, 0.0]])
def a_view_of_a_constant_base_that_took_a_gradient_requires_grad(M):
    w = _f64(M, [1.0, 2.0, 3.0])
    b = M.zeros(3, dtype=M.float64)
    v = b[:2]
    b[:1] = w[:1] * 7
    flags = [v.requires_grad, v.grad_fn is not None, v.is_leaf]
    v.sum().backward()
    return [flags, w.grad]


@case([[0.0, 128.0, 0.0], [8.0]])
def a_view_of_a_view_after_a_write_into_the_root(M):
    a = _f64(M, [1.0, 2.0, 3.0])
    b = a * 2
    u = b[:2][1:]
    b.mul_(a)
    (u * u).sum().backward()
    return [a.grad, u]


@case([0.0, 128.0, 24.0])
def a_sibling_view_after_a_write_through_the_other(M):
    a = _f64(M, [1.0, 2.0, 3.0])
    b = a * 2
    v1, v2 = b[:2], b[1:]
    v1.mul_(a[:2])
    (v2 * v2).sum().backward()
    return a.grad


@case([6.0, 6.0, 2.0])
def the_base_after_a_write_through_its_view(M):
    a = _f64(M, [1.0, 1.0, 1.0])
    b = a * 2
    b[:2].mul_(3)
    b.sum().backward()
    return a.grad


@case([[[4.0, 32.0, 108.0], [256.0, 500.0, 864.0]], [[2.0, 20.0, 2.0], [20.0, 2.0, 20.0]],
       [[8.0, 16.0, 24.0], [32.0, 40.0, 48.0]], [12.0, 24.0, 36.0]])
def transposed_reshaped_unsqueezed_and_expanded_views(M):
    a = _f64(M, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = a * 1
    t = b.T
    b.mul_(a)
    (t * t).sum().backward()
    out = [a.grad]
    a = _f64(M, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = a * 1
    r, u = b.reshape(3, 2), b.unsqueeze(0)
    b.add_(a)
    (r * M.tensor([1.0, 10.0], dtype=M.float64)).sum().backward(retain_graph=True)
    out.append(a.grad)
    a.grad = None
    (u * u).sum().backward()
    out.append(a.grad)
    a = _f64(M, [1.0, 2.0, 3.0])
    b = a * 2
    e = b.expand(2, 3)
    b.mul_(a)
    (e * M.tensor([[1.0], [2.0]], dtype=M.float64)).sum().backward()
    return out + [a.grad]


@case([True, False, [30.0, 30.0, 0.0]])
def a_stale_view_under_no_grad_and_after_a_write_under_no_grad(M):
    a = _f64(M, [1.0, 1.0, 1.0])
    b = a * 2
    v = b[:2]
    with M.no_grad():
        b.mul_(3)
    flag = (v * 1).requires_grad
    b = a * 2
    v = b[:2]
    b.mul_(3)
    with M.no_grad():
        y = v * 2
    (v * 5).sum().backward()
    return [flag, y.requires_grad, a.grad]


@case([[6.0, 12.0, 0.0], [12.0, 12.0]])
def a_stale_view_as_the_root_and_as_grads_input(M):
    a = _f64(M, [1.0, 1.0, 1.0])
    b = a * 2
    v = b[:2]
    b.mul_(3)
    v.backward(M.tensor([1.0, 2.0], dtype=M.float64))
    b2 = _f64(M, [1.0, 1.0, 1.0]) * 2
    v2 = b2[:2]
    b2.mul_(3)
    g, = M.autograd.grad((v2 * v2).sum(), v2)
    return [a.grad, g]


@case([[0.0, 360.0, 1092.0], [20.0, 42.0]])
def views_taken_between_several_writes(M):
    a = _f64(M, [1.0, 2.0, 3.0])
    b = a * 2
    b.mul_(a)
    v = b[1:]
    b.add_(a)
    v2 = v * 1
    b.mul_(2)
    (v * v2).sum().backward()
    return [a.grad, v]


@case([[[98.0, 196.0, 216.0], [7.0, 14.0, 18.0]], [[648.0, 324.0, 108.0], [6.0, 12.0, 18.0]]])
def a_stale_view_written_in_place_then_its_bases_used(M):
    a = _f64(M, [1.0, 2.0, 3.0])
    b = a * 2
    v = b[:2]
    b.mul_(3)
    v.add_(a[:2])
    (b * b).sum().backward()
    out = [[a.grad, b]]
    a = _f64(M, [1.0, 2.0, 3.0])
    b = a * 2
    v = b[:2]
    u = v[:1]
    b.mul_(3)
    u.mul_(a[:1])
    (b * v.sum()).sum().backward()
    return out + [[a.grad, b]]


@case([[0.0, 144.0, 216.0], [24.0, 36.0]])
def retain_grad_on_a_view_survives_its_base_being_written(M):
    a = _f64(M, [1.0, 2.0, 3.0])
    b = a * 2
    v = b[1:]
    v.retain_grad()
    b.mul_(3)
    (v * v).sum().backward()
    return [a.grad, v.grad]


@case([[0.0, 0.0, 0.0], [50.0, 0.0, 50.0], [[203.0, 18.0], [0.0, 32.0]]])
def a_strided_view_after_copy_and_a_row_after_writes_into_its_matrix(M):
    a = _f64(M, [1.0, 2.0, 3.0])
    w = _f64(M, [1.0, 1.0, 1.0])
    b = a * 2
    v = b[::2]
    b.copy_(w * 5)
    (v * v).sum().backward()
    m = _f64(M, [[1.0, 2.0], [3.0, 4.0]])
    c = m * 1
    row, col = c[0], c[:, 1]
    c[1, 0] = m[0, 0] * 10
    col.mul_(2)
    (row.sum() + (c * c).sum()).backward()
    return [a.grad, w.grad, m.grad]


@case([[12.0], [4.0, 4.0]])
def a_loop_that_reads_the_last_row_and_writes_the_next(M):
    w = _f64(M, [0.5])
    x0 = _f64(M, [1.0, 2.0])
    out = M.zeros(4, 2, dtype=M.float64)
    out[0] = x0
    for t in range(1, 4):
        out[t] = out[t - 1] + w
    out.sum().backward()
    return [w.grad, x0.grad]


@case("RuntimeError")
def a_view_saved_before_its_base_changed_still_refuses_backward(M):
    a = _f64(M, [1.0, 2.0, 3.0])
    b = a * 2
    v = b[:2]
    y = (v * v).sum()
    b.mul_(3)
    try:
        y.backward()
    except RuntimeError:
        return "RuntimeError"
    return "accepted"


@case([False, [6.0, 12.0]])
def a_view_of_a_detached_base_stays_a_constant(M):
    a = _f64(M, [1.0, 2.0, 3.0])
    b = a * 2
    v = b.detach()[:2]
    b.mul_(3)
    return [v.requires_grad, v]


# ---------------------------------------------------------------- grad-mode switches

@case([False, True, False, True, True])
def set_grad_enabled_as_call_and_block(M):
    M.set_grad_enabled(False)
    called = M.is_grad_enabled()
    M.set_grad_enabled(True)
    after = M.is_grad_enabled()
    with M.set_grad_enabled(False):
        inside = M.is_grad_enabled()
    return [called, after, inside, M.is_grad_enabled(),
            (M.ones(2, requires_grad=True) * 2).requires_grad]


@case([[False, False], True, True])
def set_grad_enabled_as_decorator_and_nested(M):
    @M.set_grad_enabled(False)
    def f(x):
        return [M.is_grad_enabled(), (x * 2).requires_grad]

    out = f(M.ones(2, requires_grad=True))
    with M.no_grad():
        with M.set_grad_enabled(True):
            nested = M.is_grad_enabled()
    return [out, M.is_grad_enabled(), nested]


# ---------------------------------------------------------------- hooks and retain_grad

@case([[40.0] * 3, [80.0] * 3])
def retain_grad_then_hook_keeps_the_hooked_gradient(M):
    x = M.ones(3, requires_grad=True)
    h = x * 2
    h.retain_grad()
    h.register_hook(lambda g: g * 10)
    (h * h).sum().backward()
    return [h.grad, x.grad]


@case([[40.0] * 3, [80.0] * 3])
def hook_then_retain_grad_keeps_the_hooked_gradient(M):
    x = M.ones(3, requires_grad=True)
    h = x * 2
    h.register_hook(lambda g: g * 10)
    h.retain_grad()
    (h * h).sum().backward()
    return [h.grad, x.grad]


@case([6.0] * 3)
def hooks_on_a_non_leaf_run_in_registration_order(M):
    x = M.ones(3, requires_grad=True)
    h = x * 2
    h.register_hook(lambda g: g * 2)
    h.register_hook(lambda g: g + 1)
    h.sum().backward()
    return x.grad


@case([80.0] * 3)
def a_hook_registered_after_the_use_sees_its_gradient(M):
    x = M.ones(3, requires_grad=True)
    h = x * 2
    y = h * h
    h.register_hook(lambda g: g * 10)
    y.sum().backward()
    return x.grad


@case([[2.0] * 3, [[6.0] * 3, [6.0] * 3], [36.0] * 3])
def removed_hooks_and_hooks_over_two_backwards(M):
    x = M.ones(3, requires_grad=True)
    h = x * 2
    h.register_hook(lambda g: g * 10).remove()
    h.sum().backward()
    removed = x.grad
    x = M.ones(3, requires_grad=True)
    h = x * 3
    seen = []
    h.register_hook(lambda g: seen.append(g.tolist()))
    (h * h).sum().backward(retain_graph=True)
    (h * h).sum().backward()
    return [removed, seen, x.grad]


@case([[40.0] * 3, [16.0] * 3, [8.0] * 3, [4.0] * 3])
def hooks_with_grad_and_on_nested_non_leaves(M):
    x = M.ones(3, requires_grad=True)
    h = x * 2
    h.register_hook(lambda g: g * 10)
    g, = M.autograd.grad((h * h).sum(), h)
    x = M.ones(3, requires_grad=True)
    h = x * 2
    k = h + 1
    h.register_hook(lambda g: g * 2)
    k.register_hook(lambda g: g + 1)
    k.retain_grad()
    h.retain_grad()
    (k * 3).sum().backward()
    return [g, x.grad, h.grad, k.grad]


@case([[2.0, 8.0], True, [4.0, 8.0]])
def a_hook_under_create_graph_is_differentiated(M):
    x = _f64(M, [1.0, 2.0])
    h = x * x
    h.register_hook(lambda g: g * x)
    g, = M.autograd.grad(h.sum(), x, create_graph=True)
    g2, = M.autograd.grad(g.sum(), x)
    return [g, g.requires_grad, g2]


# ---------------------------------------------------------------- backward's keywords

@case([[2.0] * 3, None, [2.0] * 3, [4.0] * 3])
def backward_takes_gradient_and_inputs(M):
    x = M.ones(3, requires_grad=True)
    y = M.ones(3, requires_grad=True)
    (x * y * 2).sum().backward(inputs=[x])
    a = M.ones(3, requires_grad=True)
    (a * 2).backward(gradient=M.ones(3))
    b = M.ones(3, requires_grad=True)
    (b * 2).backward(M.ones(3) * 2)
    return [x.grad, y.grad, a.grad, b.grad]


@case([[18.0] * 3, [6.0] * 3, None, [12.0] * 3, [1.0] * 3, [1.0] * 3])
def backward_inputs_take_non_leaves_and_accumulate(M):
    x = M.ones(3, requires_grad=True)
    h = x * 3
    (h * h).sum().backward(inputs=[h, x])
    x2 = M.ones(3, requires_grad=True)
    h2 = x2 * 3
    (h2 * h2).sum().backward(inputs=h2, retain_graph=True)
    (h2 * h2).sum().backward(inputs=[h2])
    a = M.ones(3, requires_grad=True)
    b = M.ones(3, requires_grad=True)
    loss = (a * b).sum()
    loss.backward(retain_graph=True, inputs=[a])
    loss.backward(inputs=[b])
    return [x.grad, h.grad, x2.grad, h2.grad, a.grad, b.grad]


@case([None, [1.0] * 3, [2.0] * 3, "RuntimeError"])
def autograd_backward_takes_grad_tensors_and_inputs(M):
    x = M.ones(3, requires_grad=True)
    y = M.ones(3, requires_grad=True)
    M.autograd.backward([(x * y).sum(), (x * 2).sum()], inputs=[y])
    z = M.ones(3, requires_grad=True)
    M.autograd.backward([z * 2], grad_tensors=[M.ones(3)])
    try:
        (z * 2).sum().backward(inputs=[])
        empty = "accepted"
    except RuntimeError:
        empty = "RuntimeError"
    return [x.grad, y.grad, z.grad, empty]


def test_backward_keeps_its_older_grad_keyword():
    x = ge.ones(3, requires_grad=True)
    (x * 2).backward(grad=ge.ones(3) * 3)
    assert x.grad.tolist() == [6.0] * 3
    with pytest.raises(TypeError, match="both"):
        (x * 2).backward(ge.ones(3), grad=ge.ones(3))


# ---------------------------------------------------------------- broadcasting copies

@case([[[1.0, 2.0], [1.0, 2.0]], [[1.0, 2.0], [1.0, 2.0]], [[3.0, 3.0], [3.0, 3.0]]])
def copy_and_ellipsis_set_broadcast_their_source(M):
    x = M.zeros(2, 2)
    x.copy_(M.tensor([1.0, 2.0]))
    y = M.zeros(2, 2)
    y[...] = M.tensor([1.0, 2.0])
    z = M.zeros(2, 2)
    z.copy_(M.tensor(3.0))
    return [x, y, z]


@case([[4.0, 6.0], [[0.0] * 3, [0.0] * 3], [[30.0], [36.0]],
       [[8.0] * 3, [0.0] * 3], [10.0, 12.0, 14.0]])
def gradients_through_a_broadcasting_copy_sum_back(M):
    x = M.zeros(2, 2, dtype=M.float64, requires_grad=True) * 1
    s = _f64(M, [1.0, 2.0])
    x.copy_(s)
    (x * M.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=M.float64)).sum().backward()
    a = M.ones(2, 3, dtype=M.float64, requires_grad=True)
    b = a * 2
    v = _f64(M, [[5.0], [6.0]])
    b[...] = v
    (b * b).sum().backward()
    a2 = M.ones(2, 3, dtype=M.float64, requires_grad=True)
    b2 = a2 * 2
    w = _f64(M, [5.0, 6.0, 7.0])
    b2[1:].copy_(w)
    (b2 * b2).sum().backward()
    return [s.grad, a.grad, v.grad, a2.grad, w.grad]


@pytest.mark.parametrize("write", [
    lambda: ge.zeros(2, 2).copy_(ge.ones(3)),
    lambda: ge.zeros(2).copy_(ge.ones(2, 2)),
    lambda: ge.zeros(2, 2).__setitem__(Ellipsis, ge.ones(3)),
], ids=["mismatch", "larger", "ellipsis"])
def test_a_source_that_does_not_broadcast_is_refused_naming_the_shapes(write):
    with pytest.raises(ge.ShapeError, match=r"\(2, 2\).*\(3,\)|\(2,\).*\(2, 2\)"):
        write()


def test_an_in_place_op_whose_result_grows_is_still_refused():
    x = ge.zeros(2)
    with pytest.raises(ge.ShapeError, match=r"\(2, 2\).*\(2,\)"):
        x += ge.ones(2, 2)
    assert x.tolist() == [0.0, 0.0]


# ---------------------------------------------------------------- create_graph through sign rules

@case([[-1.0, 0.0, 1.0], True, [0.0, 0.0, 0.0], [0.0, 0.0, 1.0], True, [0.0, 0.0, 0.0]])
def abs_and_relu_gradients_stay_in_the_graph(M):
    x = _f64(M, [-1.0, 0.0, 2.0])
    g, = M.autograd.grad(x.abs().sum(), x, create_graph=True)
    gg, = M.autograd.grad(g.sum(), x)
    r, = M.autograd.grad(x.relu().sum(), x, create_graph=True)
    rr, = M.autograd.grad(r.sum(), x)
    return [g, g.requires_grad, gg, r, r.requires_grad, rr]


@case([[False, [0.0, 1.0, 0.0]], [False, [0.0, 0.5, 1.0]], [False, [-1.0, -1.0, 1.0]]])
def clamp_maximum_and_where_gradients_are_constants_as_torch(M):
    x = _f64(M, [-1.0, 0.0, 2.0])
    out = []
    for f in (lambda x: x.clamp(-0.5, 1.0), lambda x: M.maximum(x, M.zeros_like(x)),
              lambda x: M.where(x > 0, x, -x)):
        g, = M.autograd.grad(f(x).sum(), x, create_graph=True)
        out.append([g.requires_grad, g])
    return out


# ---------------------------------------------------------------- index forms

def _x(M):
    return M.arange(24).reshape(2, 3, 4)


def _quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


@case([[[2, 3, 4], [2, 3], [3, 4], [2, 3, 4, 1]], [0, 4, 8]])
def several_ellipses_name_no_more_dimensions(M):
    x = _x(M)
    shapes = [list(x[..., ...].shape), list(x[..., 0, ...].shape),
              list(x[0, ..., ...].shape), list(x[..., None, ...].shape)]
    return [shapes, x[..., 0, ...].reshape(-1)[:3]]


@case([[1, 3, 4], [12, 13], [[1.0] * 4] * 3 + [[0.0] * 4] * 3, [[0.0, 0.0], [5.0, 6.0]]])
def a_uint8_index_is_a_mask(M):
    x = _x(M)
    m = M.tensor([0, 1], dtype=M.uint8)
    r = _quiet(lambda: x[m])
    w = M.ones(2, 3, 4, dtype=M.float64, requires_grad=True)
    _quiet(lambda: (w[M.tensor([1, 0], dtype=M.uint8)] * 1).sum()).backward()
    y = M.zeros(2, 2, dtype=M.float64)
    _quiet(lambda: y.__setitem__(M.tensor([0, 1], dtype=M.uint8),
                                 M.tensor([5.0, 6.0], dtype=M.float64)))
    return [list(r.shape), r.reshape(-1)[:2], w.grad.reshape(6, 4), y]


@case([[2, 4], [4, 5, 6, 7, 16], [4], [12, 13, 14, 15], [3, 4], [2, 3, 4], [2, 4],
       [2, 3, 4]])
def lists_of_sequences_and_tensors_are_read_as_tuples(M):
    x = _x(M)
    a = _quiet(lambda: x[[[0, 1], [1, 1]]])
    b = _quiet(lambda: x[[M.tensor(1), M.tensor(0)]])
    c = _quiet(lambda: x[[M.tensor(1)]])
    d = _quiet(lambda: x[[[0, 1]]])
    e = _quiet(lambda: x[[slice(None), 0]])
    return [list(a.shape), a.reshape(-1)[:5], list(b.shape), b, list(c.shape), list(d.shape),
            list(e.shape), list(x[[0, 1]].shape)]


@case([[[0.0] * 4, [2.0] * 4, [0.0] * 4], [[0.0] * 4, [1.0] * 4, [0.0] * 4]])
def a_list_read_as_a_tuple_in_setitem_and_in_gradients(M):
    w = M.zeros(2, 3, 4, dtype=M.float64, requires_grad=True)
    _quiet(lambda: w[[[0, 1], [1, 1]]].sum()).backward()
    y = M.zeros(2, 3, 4, dtype=M.float64)
    _quiet(lambda: y.__setitem__([[0, 1], [1, 1]], 2.0))
    return [y[0], w.grad[1]]


def test_index_forms_torch_deprecates_warn():
    x = ge.arange(24).reshape(2, 3, 4)
    with pytest.warns(UserWarning, match="uint8"):
        x[ge.tensor([1, 0], dtype=ge.uint8)]
    with pytest.warns(UserWarning, match="tuple"):
        x[[[0, 1], [1, 1]]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x[[0, 1]]  # a plain list of ints: an index tensor, no warning
        x[..., ...]


def test_a_list_index_read_as_a_tuple_names_the_index_when_it_fails():
    with pytest.raises(IndexError, match=r"invalid index \[\[0, 1\], \[2\]\].*tuple"), \
            pytest.warns(UserWarning):
        ge.ones(3)[[[0, 1], [2]]]


# ---------------------------------------------------------------- .grad assignment

@case(["RuntimeError", "RuntimeError", "RuntimeError", "TypeError", [1.0, 1.0, 1.0], None])
def an_assigned_grad_must_fit_the_tensor(M):
    out = []
    for bad in (lambda: M.ones(2), lambda: M.ones(3, 1), lambda: M.ones(3, dtype=M.float64),
                lambda: np.ones(3, np.float32)):
        x = M.ones(3, requires_grad=True)
        try:
            x.grad = bad()
            out.append("accepted")
        except RuntimeError:
            out.append("RuntimeError")
        except TypeError:
            out.append("TypeError")
    x = M.ones(3, requires_grad=True)
    x.grad = M.ones(3)
    good = x.grad
    x.grad = None
    return out + [good, x.grad]


@pytest.mark.parametrize("bad,exc,match", [
    (lambda: ge.ones(2), ge.ShapeError, r"grad: .*different size.*\(2,\).*\(3,\)"),
    (lambda: ge.ones(3, dtype="float64"), ge.DTypeError, r"grad: .*float64.*float32"),
    (lambda: np.ones(3, np.float32), TypeError, r"grad: .*Tensor or None.*numpy.ndarray"),
], ids=["shape", "dtype", "numpy"])
def test_a_bad_assigned_grad_is_refused_naming_both_and_changes_nothing(bad, exc, match):
    x = ge.ones(3, requires_grad=True)
    x.grad = ge.ones(3) * 5
    with pytest.raises(exc, match=match):
        x.grad = bad()
    assert x.grad.tolist() == [5.0] * 3


def test_an_assigned_grad_on_another_device_is_refused(fake_gpu):
    x = ge.ones(3, requires_grad=True)
    with pytest.raises(ge.DeviceError, match=r"grad: .*cuda:0.*cpu"):
        x.grad = ge.ones(3, device="cuda")
    assert x.grad is None


# The piecewise-linear activations: torch's *_backward ops read x, so under create_graph
# their gradients stay in x's graph and a second grad gives zeros (hardsigmoid's second
# grad is not implemented in torch; gradengine gives its zeros). Points on the kinks too.
_KINKS = [-4.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 7.0]
_PIECEWISE = {
    "leaky_relu": (lambda F: lambda x: F.leaky_relu(x, 0.25),
                   [0.25, 0.25, 0.25, 0.25, 0.25, 1.0, 1.0, 1.0, 1.0]),
    "hardtanh": (lambda F: F.hardtanh, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]),
    "relu6": (lambda F: F.relu6, [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0]),
    "threshold": (lambda F: lambda x: F.threshold(x, 0.5, -2.0),
                  [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]),
    "hardshrink": (lambda F: F.hardshrink, [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]),
    "softshrink": (lambda F: F.softshrink, [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]),
    "rrelu[eval]": (lambda F: lambda x: F.rrelu(x, 0.25, 0.75),
                    [0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0]),
    "leaky_relu_": (lambda F: lambda x: F.leaky_relu_(x * 1.0, 0.25),
                    [0.25, 0.25, 0.25, 0.25, 0.25, 1.0, 1.0, 1.0, 1.0]),
    "hardtanh[inplace]": (lambda F: lambda x: F.hardtanh(x * 1.0, inplace=True),
                          [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]),
}


def _piecewise_case(name):
    fn, grad = _PIECEWISE[name]

    def run(M):
        x = _f64(M, _KINKS)
        g, = M.autograd.grad(fn(M.nn.functional)(x).sum(), x, create_graph=True)
        gg, = M.autograd.grad(g.sum(), x)
        return [g, g.requires_grad, gg]
    run.__name__ = f"the_gradient_of_{name}_stays_in_the_graph_with_zero_second_derivative"
    return case([grad, True, [0.0] * len(_KINKS)])(run)


for _name in _PIECEWISE:
    _piecewise_case(_name)


@case([[0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0], True,
       [0.0, 0.0, 1 / 6, 1 / 3, 0.5, 2 / 3, 5 / 6, 1.0, 1.0],
       [0.0, 0.0, 1 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 3, 0.0, 0.0]])
def hardsigmoid_and_hardswish_gradients_are_strict_at_plus_minus_three(M):
    # torch's: hardsigmoid's gradient 0 at -3 and 3, hardswish's 0 at -3 and 1 at 3 (the
    # gradient 1/6 compared times 6, rounded: torch's float64 one is float32's 1/6)
    x = _f64(M, _KINKS)
    F = M.nn.functional
    g, = M.autograd.grad(F.hardsigmoid(x).sum(), x, create_graph=True)
    h, = M.autograd.grad(F.hardswish(x).sum(), x, create_graph=True)
    hh, = M.autograd.grad(h.sum(), x)
    return [M.round(g * 6), g.requires_grad, h, hh]


@case([[1.0, 1.0], [0.0, 0.0], [1.0, 1.0]])
def celu_and_elu_at_zero_as_torch(M):
    # the first derivative of celu at 0 is 1 (not a tie's half); elu's second is 0 there
    x = _f64(M, [0.0, -0.0])
    F = M.nn.functional
    c, = M.autograd.grad(F.celu(x).sum(), x)
    e, = M.autograd.grad(F.elu(x).sum(), x, create_graph=True)
    ee, = M.autograd.grad(e.sum(), x)
    return [c, ee, e]


# ---------------------------------------------------------------- formatting

@case(["2.50", "3", "3", "tensor([1., 2.])", "2.500e+00", "TypeError"])
def format_specs_on_zero_d_tensors(M):
    try:
        bad = f"{M.tensor([1.0, 2.0]):.2f}"
    except TypeError:
        bad = "TypeError"
    return [f"{M.tensor(2.5):.2f}", format(M.tensor(3), "d"), f"{M.tensor(3)}",
            f"{M.tensor([1.0, 2.0])}", f"{M.tensor(2.5, dtype=M.float64):.3e}", bad]


# ---------------------------------------------------------------- the tests

@pytest.fixture(autouse=True)
def _grad_mode_restored():
    yield
    ge.set_grad_enabled(True)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradengine_gives_the_values_worked_out_by_hand(name):
    fn, expected = CASES[name]
    got = fn(ge)
    assert _same(got, expected), f"{name}: got {_plain(got)}, expected {expected}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradengine_matches_torch(name):
    torch = pytest.importorskip("torch")
    fn, _ = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecation notes (uint8 masks, lists)
        want = fn(torch)
    torch.set_grad_enabled(True)
    got = fn(ge)
    assert _same(got, want), f"{name}: gradengine {_plain(got)}, torch {_plain(want)}"


# ---------------------------------------------------------------- Function keywords, strict

def _scale_function(M):
    class Scale(M.autograd.Function):
        @staticmethod
        def forward(ctx, x, k=1.0):
            ctx.k = k
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None
    return Scale


@pytest.mark.parametrize("call", ["keyword", "default"])
def test_function_apply_binds_keywords_and_accepts_extra_none_gradients(call):
    grads = []
    for M in (ge, pytest.importorskip("torch")):
        x = M.ones(3, requires_grad=True)
        scale = _scale_function(M)
        y = scale.apply(x, k=2.0) if call == "keyword" else scale.apply(x)
        y.sum().backward()
        grads.append(np.asarray(x.grad.numpy() if M is ge else x.grad.detach().numpy()))
    np.testing.assert_array_equal(grads[0], grads[1])
    assert grads[0][0] == (2.0 if call == "keyword" else 1.0)


def test_strict_functional_refuses_outputs_independent_of_the_inputs():
    from gradengine.autograd.functional import jacobian, vjp
    x, y = ge.ones(3), ge.ones(3)
    with pytest.raises(ge.GraphError, match="does not require gradients"):
        jacobian(lambda a: ge.ones(3), x, strict=True)
    with pytest.raises(ge.GraphError, match="independent of input 1"):
        jacobian(lambda a, b: a * 2, (x, y), strict=True)
    with pytest.raises(ge.GraphError, match="independent of input 1"):
        vjp(lambda a, b: (a * 2).sum(), (x, y), strict=True)
    assert jacobian(lambda a, b: a * 2, (x, y))[1].shape == (3, 3)  # zeros without strict
    np.testing.assert_array_equal(jacobian(lambda a: a * 2, x, strict=True).numpy(),
                                  2 * np.eye(3, dtype=np.float32))


def test_grad_with_batched_grad_outputs_gives_the_jacobian_rows():
    x = ge.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    g, = ge.autograd.grad(y, x, ge.eye(3), is_grads_batched=True, only_inputs=True)
    np.testing.assert_array_equal(g.numpy(), np.diag([2.0, 4.0, 6.0]).astype(np.float32))
    a, b = ge.ones(2, requires_grad=True), ge.ones(2, requires_grad=True)
    ga, gb = ge.autograd.grad(a * 3, (a, b), ge.ones(4, 2), is_grads_batched=True,
                              materialize_grads=True)
    assert ga.shape == (4, 2) and gb.tolist() == [[0.0, 0.0]] * 4
    torch = pytest.importorskip("torch")
    tx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    tg, = torch.autograd.grad(tx * tx, tx, torch.eye(3), is_grads_batched=True)
    np.testing.assert_array_equal(g.numpy(), tg.numpy())
