"""Engine semantics: reuse and diamonds, freed graphs, higher order, depth, threads, memory."""

import gc
import sys
import threading
import weakref

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F
from ge_testutil import to_host


def test_tensor_used_twice_gets_summed_gradient(device):
    x = ge.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = x * x + x
    y.sum().backward()
    np.testing.assert_allclose(to_host(x.grad), 2 * np.array([1, 2, 3]) + 1)


def test_diamond_graph_accumulates_both_paths(device):
    x = ge.tensor(2.0, device=device, requires_grad=True)
    a = x * 3
    b = a.sigmoid()
    c = a.tanh()
    (b + c).backward()
    s = 1 / (1 + np.exp(-6))
    assert x.grad.item() == pytest.approx(3 * (s * (1 - s) + 1 - np.tanh(6) ** 2), rel=1e-4)


def test_grad_is_a_tensor_of_the_inputs_shape_dtype_and_device(device):
    x = ge.ones((2, 3), dtype="float64", device=device, requires_grad=True)
    (x * 2).sum().backward()
    assert isinstance(x.grad, ge.Tensor)
    assert x.grad.shape == (2, 3) and x.grad.dtype == np.float64 and x.grad.device == x.device
    x.grad = None
    assert x.grad is None


def test_gradients_accumulate_across_backward_calls():
    x = ge.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]


def test_broadcast_gradients_are_summed_back():
    a = ge.ones((3, 1), requires_grad=True)
    b = ge.ones((1, 4), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.tolist() == [[4.0]] * 3
    assert b.grad.tolist() == [[3.0] * 4]


def test_retain_graph_allows_a_second_backward():
    x = ge.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 8.0]


def test_second_order_through_create_graph():
    x = ge.tensor(3.0, dtype="float64", requires_grad=True)
    y = x ** 3
    (g,) = ge.grad(y, [x], create_graph=True)
    assert g.item() == pytest.approx(27.0)
    (h,) = ge.grad(g, [x])
    assert h.item() == pytest.approx(18.0)


def test_backward_with_create_graph_gives_differentiable_grad():
    x = ge.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
    y = F.sigmoid(x).sum()
    y.backward(create_graph=True)
    gx = x.grad
    x.grad = None
    gx.sum().backward()
    s = 1 / (1 + np.exp(-np.array([0.5, -1.0])))
    np.testing.assert_allclose(x.grad.numpy(), s * (1 - s) * (1 - 2 * s))


def test_ge_grad_does_not_touch_leaf_grads_and_allows_non_leaf_inputs():
    x = ge.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = (h * h).sum()
    gh, gx = ge.grad(y, [h, x])
    assert gh.tolist() == [4.0, 8.0]
    assert gx.tolist() == [8.0, 16.0]
    assert x.grad is None


def test_hundred_thousand_op_chain_at_recursion_limit_200():
    old = sys.getrecursionlimit()
    x = ge.tensor(1.0, dtype="float64", requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0000001
    sys.setrecursionlimit(200)
    try:
        y.sum().backward()
    finally:
        sys.setrecursionlimit(old)
    assert x.grad.item() == pytest.approx(1.0000001 ** 100_000, rel=1e-9)


def test_deleting_a_deep_graph_without_backward_does_not_crash():
    x = ge.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    last, first = weakref.ref(y.node), weakref.ref(y.node.edge(0))
    del y  # CPython's trashcan keeps the deep deallocation off the C stack
    assert last() is None and first() is None  # freed by reference counting, no gc needed


def test_ten_thousand_fold_reuse_is_exact():
    x = ge.tensor(1.0, dtype="float64", requires_grad=True)
    total = x * 0
    for i in range(10_000):
        total = total + x * i
    total.backward()
    assert x.grad.item() == 49_995_000.0


def test_intermediate_dies_without_gc_collect():
    w = ge.randn(3, 3, requires_grad=True)
    gc.disable()
    try:
        h = (ge.ones((2, 3)) @ w).sigmoid()
        r = weakref.ref(h)
        loss = (h * h).sum()
        loss.backward()
        del h, loss
        assert r() is None
    finally:
        gc.enable()


def test_an_input_no_rule_reads_dies_with_its_last_reference_and_the_graph_still_works():
    x = ge.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0  # mul by a constant reads nothing of h
    r = weakref.ref(h)
    y = (h * 2.0).exp()  # exp reads its output, not h
    del h
    assert r() is None  # the graph keeps h's node, not the Tensor (PyTorch's rule)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6.0 * np.exp(6.0 * np.array([1.0, 2.0])),
                               rtol=1e-6)


def test_graph_dies_without_backward_too():
    w = ge.randn(3, 3, requires_grad=True)
    gc.disable()
    try:
        h = (ge.ones((2, 3)) @ w).tanh()
        r = weakref.ref(h.node)
        out = h.sum()
        del h, out
        assert r() is None
    finally:
        gc.enable()


def test_no_grad_is_thread_local_and_a_decorator():
    results = {}

    def worker():
        results["thread"] = ge.is_grad_enabled()

    with ge.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert not ge.is_grad_enabled()
    assert results["thread"] is True
    assert ge.is_grad_enabled()

    @ge.no_grad()
    def f(x):
        return x * 2

    @ge.no_grad
    def g(x):
        return x * 2

    x = ge.ones(2, requires_grad=True)
    assert not f(x).requires_grad and not g(x).requires_grad
    with ge.no_grad():
        with ge.enable_grad():
            assert (x * 2).requires_grad


def test_in_place_ops_bump_version_and_stay_differentiable():
    x = ge.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h += 1
    h *= 3
    assert h._version == 2
    h.sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]


def test_in_place_add_after_use_keeps_earlier_consumers_correct():
    x = ge.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1
    s = a + 2          # add saves nothing, so no version error...
    a *= 3             # ...and s's gradient must still flow to the *old* a
    s.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_setitem_records_gradient_for_the_value():
    v = ge.tensor([5.0, 6.0], requires_grad=True)
    t = ge.zeros(4)
    t[1:3] = v
    (t * ge.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert v.grad.tolist() == [2.0, 3.0]
    assert t._version == 1


def test_repeated_indices_accumulate():
    x = ge.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]


def test_python_scalars_do_not_upcast():
    x = ge.ones(3)
    assert (x * 2.0).dtype == np.float32
    assert (2.0 - x).dtype == np.float32
    assert (x ** 2).dtype == np.float32
    assert (x * np.float64(2.0)).dtype == np.float32


def test_detect_anomaly_names_the_op_and_the_site():
    x = ge.tensor([-1.0, 1.0, 2.0], requires_grad=True)
    with ge.detect_anomaly():
        with pytest.raises(ge.GraphError, match=r"log: forward produced NaN.*test_engine.py"):
            F.log(x)
        y = F.sqrt(x * 0 + 0.0)
        with pytest.raises(ge.GraphError, match=r"backward produced NaN in output 0 \(shape "
                                                r"\(3,\)\); op created at .*test_engine.py"):
            (y * 0).sum().backward()


def test_dlpack_roundtrip_with_numpy_and_torch():
    x = ge.tensor([1.0, 2.0, 3.0])
    a = np.from_dlpack(x)
    a[0] = 10.0
    assert x.tolist()[0] == 10.0  # zero-copy
    y = ge.from_dlpack(np.arange(3.0))
    assert y.tolist() == [0.0, 1.0, 2.0]
    torch = pytest.importorskip("torch")
    t = torch.arange(4, dtype=torch.float32)
    g = ge.from_dlpack(t)
    t[0] = 7.0
    assert g.tolist()[0] == 7.0
    back = torch.from_dlpack(x)
    assert back.tolist() == x.tolist()


def test_creation_functions_and_seed():
    ge.manual_seed(0)
    a = ge.randn(2, 3)
    ge.manual_seed(0)
    b = ge.randn((2, 3))
    assert a.tolist() == b.tolist() and a.dtype == np.float32
    assert ge.zeros((2, 3)).shape == (2, 3) and ge.ones(4).shape == (4,)
    assert ge.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert ge.zeros_like(a).shape == a.shape
    assert 0 <= ge.rand(10).numpy().min() and ge.rand(10).numpy().max() < 1
    assert ge.get_default_device() == "cpu"


def test_tensor_properties_and_conversions():
    t = ge.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert t.shape == (2, 2) and t.ndim == 2 and t.size == 4 and t.dtype == np.float32
    assert t.device == "cpu"
    assert t.T.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert t.sum().item() == 10.0
    assert t.astype("float64").dtype == np.float64
    assert isinstance(t.numpy(), np.ndarray)
    assert t.reshape(4).shape == (4,) and t.reshape((4, 1)).shape == (4, 1)
    assert t.transpose(1, 0).shape == (2, 2) and t.transpose((1, 0)).shape == (2, 2)
    assert t.detach().requires_grad is False
    assert t.to("cpu").device == "cpu" and t.cpu().device == "cpu"
    assert (t > 2).tolist() == [[False, False], [True, True]]
    assert t[:, ::-1].tolist() == [[2.0, 1.0], [4.0, 3.0]]
    assert t[None, ..., 0].shape == (1, 2)
    assert t[t > 2].tolist() == [3.0, 4.0]


# -- a first-order CPU backward runs array-safe rules on NumPy arrays (core.op.call) --------

def test_array_safe_rules_are_found_from_their_code():
    from gradengine.core.op import array_safe
    from gradengine.ops import elementwise, linalg, losses

    assert array_safe(lambda g, b: g * b)
    assert array_safe(lambda g, a: -(g / a) * a.T + a.size)
    assert not array_safe(lambda g, a: g * F.sigmoid(a))  # a call that needs Tensors
    assert not array_safe(lambda g: g.sum(axis=0))        # a method: not the same on arrays
    assert elementwise.mul.arrays and elementwise.div.arrays
    assert losses.squared_error.arrays                     # through a module function
    assert linalg.matmul_op.arrays and linalg.bias_act_op.arrays  # declared: they use call()
    assert not elementwise.pow.arrays                      # reads where(): Tensor rules


def _grads(fn, arrays, anomaly):
    ts = [ge.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    if anomaly:  # the Tensor path: anomaly mode runs every rule on Tensors
        with ge.detect_anomaly():
            fn(*ts).sum().backward()
    else:
        fn(*ts).sum().backward()
    return [None if t.grad is None else t.grad.numpy() for t in ts]


@pytest.mark.parametrize("case", ["chain", "broadcast", "mixed_dtype", "zero_d", "mlp"])
def test_backward_on_arrays_matches_the_tensor_rules_bit_for_bit(case):
    rng = np.random.default_rng(3)
    f32 = np.float32
    fn, arrays = {
        "chain": (lambda x: ((x * 0.9 + 0.1).sigmoid().tanh()).exp() / (x * x + 1),
                  [rng.standard_normal(7).astype(f32)]),
        "broadcast": (lambda a, b: (a - b) * (a / (b * b + 1)),
                      [rng.standard_normal((3, 4)).astype(f32),
                       rng.standard_normal(4).astype(f32)]),
        "mixed_dtype": (lambda a, k: a * k + a / (k + 1),  # float32 with int64: Tensor promotion
                        [rng.standard_normal((2, 3)).astype(f32), np.arange(6).reshape(2, 3)]),
        "zero_d": (lambda x: x * 1.0000001 * x + x, [np.asarray(1.5)]),
        "mlp": (lambda x, w, b, v: F.linear(x, w, b, activation="sigmoid") @ v,
                [rng.standard_normal((5, 3)).astype(f32),
                 rng.standard_normal((3, 4)).astype(f32),
                 rng.standard_normal(4).astype(f32),
                 rng.standard_normal((4, 2)).astype(f32)]),
    }[case]
    fast, slow = _grads(fn, arrays, False), _grads(fn, arrays, True)
    for a, b in zip(fast, slow):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(a, b)


def test_backward_on_arrays_gives_tensors_and_never_warns():
    import warnings
    x = ge.tensor(np.array([0.0, 1e-30, 3.0], np.float32), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (ge.tensor(1e30) / x).sum().backward()  # the gradient overflows: inf, no warning
    assert isinstance(x.grad, ge.Tensor) and x.grad.dtype == np.float32
    assert np.isinf(x.grad.numpy()[0]) and np.isinf(x.grad.numpy()[1])


def test_backward_pauses_the_cyclic_collector_and_restores_it():
    from gradengine.core.op import Op, apply
    x = ge.tensor([1.0, 2.0], requires_grad=True)
    seen = []

    def rule(g):  # runs inside the walk
        seen.append(gc.isenabled())
        return g
    ident = Op(lambda xp, a: a.copy(), name="ident").defvjp(rule)
    assert gc.isenabled()
    apply(ident, x).sum().backward()
    assert seen == [False] and gc.isenabled()
    gc.disable()  # a user who turned it off keeps it off
    try:
        (x * 3).sum().backward()
        assert not gc.isenabled()
    finally:
        gc.enable()
    z = x * x
    x.data[0] = 9.0
    x._version += 1  # a saved input changed: the walk raises, the collector is back on
    with pytest.raises(ge.GraphError):
        z.sum().backward()
    assert gc.isenabled()
