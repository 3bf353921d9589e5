"""torch.autograd.graph (saved-tensor hooks), torch.autograd.profiler / torch.profiler and
the torch.jit shims, each checked against PyTorch run in the test."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
from gradengine.autograd import graph

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.script ...

A = [0.3, -1.2, 2.0]
B = [0.5, 0.25, -1.5]

# programs of two inputs, written once for both libraries
PROGRAMS = {
    "mul_both": lambda a, b: (a * b).sum(),
    "mul_const": lambda a, b: (a * b.detach()).sum(),
    "scale": lambda a, b: (a * 3.0 + b).sum(),
    "exp_chain": lambda a, b: (a * b).exp().sum(),
    "sigmoid": lambda a, b: (a.sigmoid() * b).sum(),
    "tanh": lambda a, b: (a.tanh() + b.tanh()).sum(),
    "matmul": lambda a, b: (a.reshape(3, 1) @ b.reshape(1, 3)).sum(),
}


def _run(lib, fn, pack, unpack, create=False):
    """(pack calls, unpack calls, grads) of fn under saved_tensors_hooks(pack, unpack)."""
    calls = {"pack": 0, "unpack": 0}

    def p(t):
        calls["pack"] += 1
        return pack(t)

    def u(x):
        calls["unpack"] += 1
        return unpack(x)

    a = lib.tensor(A, requires_grad=True)
    b = lib.tensor(B, requires_grad=True)
    with lib.autograd.graph.saved_tensors_hooks(p, u):
        y = fn(a, b)
    packs = calls["pack"]
    y.backward()
    return packs, calls["unpack"], _np(a.grad), _np(b.grad)


def _np(g):
    return np.zeros(3) if g is None else g.numpy()


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_hooks_are_called_once_per_saved_tensor_as_torch(name):
    fn = PROGRAMS[name]
    ours = _run(ge, fn, lambda t: t, lambda t: t)
    ref = _run(torch, fn, lambda t: t, lambda t: t)
    assert ours[:2] == ref[:2]
    np.testing.assert_allclose(ours[2], ref[2], rtol=1e-6)
    np.testing.assert_allclose(ours[3], ref[3], rtol=1e-6)


@pytest.mark.parametrize("name", ["mul_both", "exp_chain", "sigmoid", "matmul"])
def test_the_gradient_uses_what_unpack_returns(name):
    fn = PROGRAMS[name]
    ours = _run(ge, fn, lambda t: t * 2, lambda t: t)
    ref = _run(torch, fn, lambda t: t * 2, lambda t: t)
    np.testing.assert_allclose(ours[2], ref[2], rtol=1e-5)
    np.testing.assert_allclose(ours[3], ref[3], rtol=1e-5)
    plain = _run(ge, fn, lambda t: t, lambda t: t)
    assert not np.allclose(ours[2], plain[2])  # the hook's value did reach the gradient


def test_identity_hooks_change_no_gradient():
    for fn in PROGRAMS.values():
        a = ge.tensor(A, requires_grad=True)
        b = ge.tensor(B, requires_grad=True)
        fn(a, b).backward()
        hooked = _run(ge, fn, lambda t: t, lambda t: t)
        np.testing.assert_array_equal(hooked[2], _np(a.grad))
        np.testing.assert_array_equal(hooked[3], _np(b.grad))


def _nest(lib):
    log = []
    a = lib.tensor(A, requires_grad=True)
    hooks = lib.autograd.graph.saved_tensors_hooks
    with hooks(lambda t: log.append("outer") or t, lambda t: log.append("outer-u") or t):
        y1 = (a * a).sum()
        with hooks(lambda t: log.append("inner") or t, lambda t: log.append("inner-u") or t):
            y2 = a.exp().sum()
        y3 = a.sigmoid().sum()
    (y1 + y2 + y3).backward()
    return sorted(log)


def test_nested_contexts_use_the_innermost_pair_only_as_torch():
    assert _nest(ge) == _nest(torch)
    assert graph._state.stack == () and graph._core_op._packer is None


def test_retain_graph_unpacks_again_at_every_backward():
    for lib in (ge, torch):
        n = []
        a = lib.tensor(A, requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t, n=n: n.append(1) or t):
            y = a.sigmoid().sum()
        y.backward(retain_graph=True)
        y.backward()
        assert len(n) == 2, lib


def test_save_on_cpu_gives_the_plain_gradients_to_second_order():
    def f(lib):
        x = lib.tensor(A, requires_grad=True, dtype=lib.float64)
        with lib.autograd.graph.save_on_cpu():
            y = (x * x * x).sum() + x.sigmoid().sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        return g.detach().numpy(), gg.numpy()

    ours, ref = f(ge), f(torch)
    np.testing.assert_allclose(ours[0], ref[0], rtol=1e-12)
    np.testing.assert_allclose(ours[1], ref[1], rtol=1e-12)


def test_a_saved_tensor_changed_in_place_still_raises_under_hooks():
    a = ge.tensor(A, requires_grad=True)
    h = a * 1.0
    with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        y = (h * a).sum()
    h += 1
    with pytest.raises(ge.GraphError, match="modified in place"):
        y.backward()


def test_function_save_for_backward_is_packed_as_torch():
    def make(lib):
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x * x

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * 3 * x * x
        return Cube

    for pack_scale in (1.0, 2.0):
        res = []
        for lib in (ge, torch):
            n = []
            x = lib.tensor(A, requires_grad=True)
            hooks = lib.autograd.graph.saved_tensors_hooks(
                lambda t, n=n, s=pack_scale: n.append(1) or t * s, lambda t: t)
            with hooks:
                y = make(lib).apply(x).sum()
            y.backward()
            res.append((len(n), x.grad.numpy()))
        assert res[0][0] == res[1][0] == 1
        np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-6)


def test_disable_saved_tensors_hooks_refuses_a_context_inside():
    with graph.disable_saved_tensors_hooks("no hooks here"):
        with pytest.raises(RuntimeError, match="no hooks here"):
            with graph.save_on_cpu():
                pass
    with graph.save_on_cpu():
        pass


def test_grad_fn_and_accumulate_grad_are_graph_nodes():
    a = ge.tensor(A, requires_grad=True)
    y = (a * a).sum()
    assert isinstance(y.grad_fn, graph.Node)
    leaf = y.grad_fn.next_functions[0][0].next_functions[0][0]
    assert isinstance(leaf, graph.Node)
    assert not isinstance(a, graph.Node)


def test_no_packer_is_installed_outside_a_context():
    core_op = graph._core_op
    assert core_op._packer is None
    with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        assert core_op._packer is not None
    assert core_op._packer is None


# ---------------------------------------------------------------- torch.jit shims
def _linear_pair():
    from gradengine import nn
    ge.manual_seed(0)
    m = nn.Linear(4, 3)
    t = torch.nn.Linear(4, 3)
    with torch.no_grad():
        t.weight.copy_(torch.tensor(m.weight.numpy().T))  # ours is (in, out), torch's (out, in)
        t.bias.copy_(torch.tensor(m.bias.numpy()))
    return m, t


def test_jit_script_of_a_module_is_the_module_with_torchs_results():
    m, t = _linear_pair()
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    sm, st = ge.jit.script(m), torch.jit.script(t)
    assert sm is m
    np.testing.assert_allclose(sm(ge.tensor(x)).detach().numpy(),
                               st(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    assert ge.compile(m) is m


def test_jit_script_of_a_function_replays_under_no_grad_and_keeps_graphs_otherwise():
    def f(x, y):
        return (x * y + 1.0).tanh().sum(dim=1)

    sf, tf = ge.jit.script(f), torch.jit.script(f)
    rng = np.random.default_rng(1)
    x, y = (rng.standard_normal((3, 4)).astype(np.float32) for _ in range(2))
    with ge.no_grad():
        first = sf(ge.tensor(x), ge.tensor(y)).numpy()
        again = sf(ge.tensor(x), ge.tensor(y)).numpy()
    assert sf._jitted.traces == 1  # recorded once, replayed after
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, f(ge.tensor(x), ge.tensor(y)).numpy())
    np.testing.assert_allclose(first, tf(torch.tensor(x), torch.tensor(y)).numpy(), rtol=1e-6)
    gx, tx = ge.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    sf(gx, ge.tensor(y)).sum().backward()
    tf(tx, torch.tensor(y)).sum().backward()
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_jit_trace_runs_the_example_once_and_gives_eager_results():
    calls = []

    def f(x):
        calls.append(1)
        return x * 2.0

    x = ge.tensor([1.0, 2.0])
    tr = ge.jit.trace(f, (x,))
    assert calls == [1]
    np.testing.assert_array_equal(tr(x).numpy(), torch.jit.trace(f, torch.tensor([1.0, 2.0]))(
        torch.tensor([1.0, 2.0])).numpy())
    m, _ = _linear_pair()
    assert ge.jit.trace(m, ge.randn(2, 4)) is m
    with pytest.raises(RuntimeError):
        ge.jit.trace(f)


def test_jit_decorators_leave_functions_unchanged_as_outside_torchscript():
    def f(x):
        return x + 1

    for name in ("ignore", "unused", "export"):
        assert getattr(ge.jit, name)(f) is f
    assert ge.jit.ignore(drop=True)(f) is f
    assert ge.jit.is_scripting() == torch.jit.is_scripting()
    assert ge.jit.is_tracing() == torch.jit.is_tracing()
    assert ge.jit.annotate(list, [1]) == torch.jit.annotate(list, [1])
    assert ge.jit.wait(ge.jit.fork(f, 2)) == torch.jit.wait(torch.jit.fork(f, 2))


def test_at_ge_jit_is_still_the_step_capture():
    import importlib
    assert importlib.import_module("gradengine.capture").jit is ge.jit

    @ge.jit
    def step(x):
        return x * 3.0

    with ge.no_grad():
        a = step(ge.tensor([1.0, 2.0]))
        b = step(ge.tensor([1.0, 2.0]))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert step.traces == 1
