"""RELIABILITY.md section 2, rows 1-16, 28 and 29: type, message, and nothing changed."""

import numpy as np
import pytest

import gradengine as ge
from ge_testutil import CUDA, Snapshot
from gradengine import backend


def _raises(exc, regex, fn, *tensors):
    snap = Snapshot(*tensors)
    with pytest.raises(exc, match=regex):
        fn()
    snap.assert_unchanged()


def test_add_shapes_that_do_not_broadcast():
    a, b = ge.ones((2, 3), requires_grad=True), ge.ones((4,))
    _raises(ge.ShapeError, r"add: .*\(2, 3\).*\(4,\).*broadcast", lambda: a + b, a, b)


def test_matmul_inner_dims_differ():
    a, b = ge.ones((2, 3), requires_grad=True), ge.ones((4, 5))
    _raises(ge.ShapeError, r"matmul: .*\(2, 3\).*\(4, 5\)", lambda: a @ b, a, b)


def test_matmul_of_a_0d_tensor():
    a, b = ge.ones(()), ge.ones((3,))
    _raises(ge.ShapeError, r"matmul: .*0-d", lambda: a @ b, a, b)


def test_reshape_to_a_different_size():
    a = ge.ones((2, 3), requires_grad=True)
    _raises(ge.ShapeError, r"reshape: .*size 6.*\(2, 3\).*\(4,\)", lambda: a.reshape(4), a)


@pytest.mark.parametrize("axis", [2, -3])
def test_sum_axis_out_of_range(axis):
    a = ge.ones((2, 3), requires_grad=True)
    _raises(ge.ShapeError, rf"sum: axis {axis} .*ndim 2", lambda: a.sum(axis=axis), a)


def test_transpose_with_repeated_axes():
    a = ge.ones((2, 3))
    _raises(ge.ShapeError, r"transpose: .*axes", lambda: a.transpose((0, 0)), a)


def test_mixing_devices(cuda_device):
    a, b = ge.ones(3, device="cpu"), ge.ones(3, device="cuda")
    _raises(ge.DeviceError, r"add: .*cpu.*cuda:0", lambda: a + b, a, b)


@pytest.mark.skipif(CUDA, reason="checks the message without CUDA")
def test_cuda_without_cupy_or_gpu_says_how_to_install():
    a = ge.ones(3)
    _raises(ge.DeviceError, r"pip install .*gradengine\[cuda12\]|no CUDA device",
            lambda: a.to("cuda"), a)
    with pytest.raises(ge.DeviceError, match=r"pip install .*gradengine\[cuda12\]|no CUDA"):
        ge.zeros(3, device="cuda")


def test_message_without_cupy(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", None)
    with pytest.raises(ge.DeviceError, match=r"pip install .*gradengine\[cuda12\]"):
        ge.ones(3).to("cuda")


def test_int_tensor_cannot_require_grad():
    with pytest.raises(ge.DTypeError, match=r"requires_grad.*floating.*int64"):
        ge.tensor([1, 2], requires_grad=True)


def test_unsupported_dtype_lists_the_supported_ones():
    with pytest.raises(ge.DTypeError, match=r"float8.*float32.*float64"):
        ge.tensor([1.0], dtype="float8")


def test_backward_of_non_scalar_without_grad():
    x = ge.ones(3, requires_grad=True)
    y = x.sigmoid()
    _raises(ge.GraphError, r"backward: .*grad.*non-scalar.*\(3,\)", y.backward, x, y)


def test_backward_grad_of_wrong_shape():
    x = ge.ones(3, requires_grad=True)
    y = x * 2
    _raises(ge.ShapeError, r"backward: .*\(2,\).*\(3,\)", lambda: y.backward(grad=ge.ones(2)),
            x, y)


def test_backward_without_requires_grad_or_under_no_grad():
    x = ge.ones(3)
    _raises(ge.GraphError, r"does not require grad", lambda: x.sum().backward(), x)
    w = ge.ones(3, requires_grad=True)
    with ge.no_grad():
        y = (w * 2).sum()
    _raises(ge.GraphError, r"does not require grad", y.backward, w, y)


def test_second_backward_through_a_freed_graph():
    x = ge.ones(3, requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    _raises(ge.GraphError, r"freed.*retain_graph=True", loss.backward, x, loss)


def test_in_place_change_of_a_saved_tensor():
    x = ge.ones(3, requires_grad=True)
    h = x * 1
    y = h * h
    h += 1
    loss = y.sum()
    _raises(ge.GraphError, r"mul: .*modified in place.*\(3,\).*version 1.*expected 0",
            loss.backward, x, h, y, loss)


def test_optimizer_style_update_between_forward_and_backward():
    # w is saved by the matmul because x needs a gradient (a hidden layer's input); with
    # x constant only x would be saved and the update would be allowed, as in PyTorch
    w = ge.ones((3, 2), requires_grad=True)
    x = ge.ones((4, 3), requires_grad=True)
    loss = (x @ w).sum()
    with ge.no_grad():
        w -= 0.1 * ge.ones((3, 2))
    with pytest.raises(ge.GraphError, match=r"matmul: .*modified in place.*version 1.*"
                                            r"expected 0"):
        loss.backward()
    assert w.grad is None


def test_grad_of_an_input_not_in_the_graph():
    x = ge.ones(3, requires_grad=True)
    z = ge.ones(3, requires_grad=True)
    out = (x * 2).sum()
    _raises(ge.GraphError, r"input 0 .*not part of the graph", lambda: ge.grad(out, [z]), x, z)


def test_index_out_of_bounds():
    t = ge.ones(3, requires_grad=True)
    _raises(IndexError, r"getitem: index 5 .*\(3,\)", lambda: t[5], t)


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_of_a_size_zero_tensor(name):
    t = ge.ones((0, 3))
    _raises(ValueError, rf"{name}: .*zero-size.*\(0, 3\)", getattr(t, name), t)


def test_leaf_requiring_grad_cannot_be_changed_in_place_while_recording():
    w = ge.ones(3, requires_grad=True)
    with pytest.raises(ge.GraphError, match="leaf"):
        w += 1
    with pytest.raises(ge.GraphError, match="leaf"):
        w[0] = 2.0
    assert w._version == 0 and w.numpy().tolist() == [1.0, 1.0, 1.0]


def test_every_error_subclasses_its_builtin():
    assert issubclass(ge.ShapeError, ValueError)
    assert issubclass(ge.DTypeError, TypeError)
    assert issubclass(ge.DeviceError, RuntimeError)
    assert issubclass(ge.GraphError, RuntimeError)
    assert issubclass(ge.CheckpointError, ValueError)
    assert issubclass(ge.CaptureError, RuntimeError)


def test_int_tensor_plus_float_scalar_gives_the_default_float():
    t = ge.tensor([1, 2]) + 0.5
    assert t.dtype == np.float32
    assert (ge.tensor([1, 2]) / 2).dtype == np.float32


# ---------------------------------------------------------------- issue 14: typed errors that
# name the op and the values, catchable as PyTorch code catches them

@pytest.mark.parametrize("fn,exc,regex", [
    (lambda: ge.arange(3) ** -2, ge.DTypeError, r"pow: integer tensors .*negative .*int64\(3,\)"),
    (lambda: ge.ones(3)[::0], IndexError, r"getitem: slice step cannot be zero"),
    (lambda: ge.tensor([[1, 2], [3]]), ge.ShapeError, r"tensor: cannot make a tensor from ragged"),
    (lambda: ge.ones(3)[[[0, 1], [2]]], IndexError, r"getitem: invalid index \[\[0, 1\], \[2\]\]"),
    (lambda: ge.zeros((-1, 3)), ge.ShapeError, r"zeros: negative size -1 in shape \(-1, 3\)"),
    (lambda: ge.randn(-1), ge.ShapeError, r"randn: negative size -1"),
    (lambda: ge.arange(0, 10, 0), ge.errors.ArgumentError, r"arange: step must be nonzero"),
    (lambda: ge.zeros((2**40, 2**40)), ge.ShapeError, r"zeros: shape \(1099511627776, "),
    (lambda: ge.ones(3) + "abc", ge.DTypeError, r"add: unsupported operand.*\(3,\).*'abc'"),
    (lambda: "abc" * ge.ones(3), ge.DTypeError, r"mul: unsupported operand.*'abc'"),
    (lambda: ge.ones(3).clip(None, None), ge.errors.ArgumentError,
     r"clip: At least one of 'min' or 'max' must not be None.*\(3,\)"),
    (lambda: ge.gradcheck(lambda x: 3.0, [ge.ones(2, dtype="float64", requires_grad=True)]),
     ge.GraphError, r"gradcheck: the function must return a Tensor .*got float"),
    (lambda: ge.gradcheck(lambda x: (x, 2), [ge.ones(2, dtype="float64", requires_grad=True)]),
     ge.GraphError, r"gradcheck: .*holding int"),
    (lambda: ge.gradgradcheck(lambda x: None, [ge.ones(2, dtype="float64", requires_grad=True)]),
     ge.GraphError, r"gradgradcheck: .*got NoneType"),
    (lambda: ge.ones(3)[5], IndexError, r"getitem: .*out of bounds.*\(3,\)"),
])
def test_bad_input_raises_gradengines_error_naming_the_op(fn, exc, regex):
    with pytest.raises(exc, match=regex) as info:
        fn()
    assert type(info.value).__module__ == "gradengine.errors"


def test_shape_errors_are_also_runtime_errors_as_torch_raises():
    a, b = ge.ones((2, 3)), ge.ones((4,))
    for fn in (lambda: a + b, lambda: a @ ge.ones((4, 5)), lambda: a.reshape(4)):
        with pytest.raises(RuntimeError):
            fn()
        with pytest.raises(ValueError):
            fn()
    assert issubclass(ge.ShapeError, RuntimeError) and issubclass(ge.ShapeError, ValueError)


@pytest.mark.parametrize("fn", [lambda x: x.sum(axis=2), lambda x: x.squeeze(3),
                                lambda x: x.softmax(axis=5), lambda x: x.flatten(0, 4),
                                lambda x: x.unsqueeze(4), lambda x: x.argmax(dim=2),
                                lambda x: x.swapaxes(0, -3), lambda x: x.any(dim=2)])
def test_dimension_out_of_range_is_also_an_index_error(fn):
    x = ge.ones((2, 3))
    with pytest.raises(IndexError, match=r"out of range"):
        fn(x)
    with pytest.raises(ge.ShapeError):
        fn(x)


def test_numpy_value_errors_are_not_all_called_shapes():
    from gradengine.core.op import _forward_error, op

    @op()
    def demo(xp, a):
        """a."""
        return a
    err = _forward_error(demo, (np.ones(2),), ValueError("math domain"))
    assert isinstance(err, ge.errors.ArgumentError) and "invalid shapes" not in str(err)
    assert "demo: math domain" in str(err)
    err = _forward_error(demo, (np.ones(2),), ValueError("operands could not be broadcast"))
    assert isinstance(err, ge.ShapeError) and "demo: invalid shapes float64(2,)" in str(err)
    err = _forward_error(demo, (np.ones(2),), MemoryError("no"))
    assert isinstance(err, ge.errors.OutOfMemoryError) and "demo" in str(err)


def test_dtype_errors_are_caught_as_type_and_runtime_errors():
    for exc in (TypeError, RuntimeError):
        with pytest.raises(exc):
            ge.functional.softmax(ge.tensor([1, 2]), 0)


def test_the_errors_users_catch_are_exported_at_the_top_level():
    from gradengine import errors

    for name in ("IndexingError", "AxisError", "ArgumentError", "DivisionByZeroError",
                 "OutOfMemoryError", "ShapeError", "DTypeError", "DeviceError", "GraphError"):
        assert getattr(ge, name) is getattr(errors, name) and name in ge.__all__
    assert issubclass(ge.IndexingError, IndexError) and issubclass(ge.IndexingError, ValueError)
    assert issubclass(ge.DivisionByZeroError, ZeroDivisionError)
    assert issubclass(ge.DivisionByZeroError, RuntimeError)
    assert issubclass(ge.DivisionByZeroError, ge.ArgumentError)
    with pytest.raises(ge.IndexingError):
        ge.zeros(3)[5]
    with pytest.raises(ge.DivisionByZeroError, match=r"floordiv|floor_divide|division"):
        ge.tensor([1, 2]) // ge.tensor([1, 0])
