"""torch.autograd.graph (saved-tensor hooks), torch.autograd.profiler / torch.profiler and
the torch.jit shims, each checked against PyTorch run in the test."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
from gradengine.autograd import graph

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # torch.jit.script
              pytest.mark.filterwarnings("ignore:Using backward.. with create_graph")]

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
    "relu_pow": lambda a, b: (a.relu() + b ** 2).sum(),
    "div": lambda a, b: (a / b).sum(),
    "exp_log_sqrt": lambda a, b: (a.exp().log() + b.abs().sqrt()).sum(),
    "softmaxes": lambda a, b: (a.softmax(-1) * b.log_softmax(-1)).sum() + (a * b).abs().mean(),
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


def _f(lib):
    return ge.functional if lib is ge else torch.nn.functional


FUNCTIONAL = {  # (gradengine's Linear weight is (in, out): the transposed weight for torch)
    "linear": lambda lib, a, b: _f(lib).linear(
        a.reshape(1, 3), b.reshape(3, 1) if lib is ge else b.reshape(1, 3)).sum(),
    "gelu": lambda lib, a, b: (_f(lib).gelu(a) * b).sum(),
    "mse_loss": lambda lib, a, b: _f(lib).mse_loss(a, b),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
def test_functional_ops_save_what_torch_saves(name):
    ours = _run(ge, lambda a, b: FUNCTIONAL[name](ge, a, b), lambda t: t, lambda t: t)
    ref = _run(torch, lambda a, b: FUNCTIONAL[name](torch, a, b), lambda t: t, lambda t: t)
    assert ours[:2] == ref[:2]
    np.testing.assert_allclose(ours[2], ref[2], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ours[3], ref[3], rtol=1e-5, atol=1e-7)


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


# ---------------------------------------------------------------- profiler
def _counts(prof, prefix=""):
    return {e.key[len(prefix):]: e.count for e in prof.key_averages()
            if e.key.startswith(prefix)}


def test_a_loop_of_matmuls_counts_as_torchs_profiler():
    x = np.random.default_rng(0).standard_normal((4, 4)).astype(np.float32)
    with ge.profiler.profile() as prof:
        a = ge.tensor(x)
        for _ in range(3):
            a = a @ ge.tensor(x)
    with torch.profiler.profile() as tprof:
        b = torch.tensor(x)
        for _ in range(3):
            b = b @ torch.tensor(x)
    assert _counts(prof)["matmul"] == 3 == _counts(tprof, "aten::")["matmul"]
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5)
    row = next(e for e in prof.key_averages() if e.key == "matmul")
    assert row.cpu_time_total > 0 and row.cpu_time == pytest.approx(row.cpu_time_total / 3)


def test_the_backward_ops_are_profiled_as_torchs():
    def run(lib, prof):
        x = lib.tensor(A, requires_grad=True)
        y = lib.tensor(B, requires_grad=True)
        with prof() as p:
            (x * y).sum().backward()
        return p, x.grad.numpy()

    (p, g), (tp, tg) = run(ge, ge.profiler.profile), run(torch, torch.profiler.profile)
    assert _counts(p)["mul"] == _counts(tp, "aten::")["mul"] == 3  # forward 1, backward 2
    np.testing.assert_array_equal(g, tg)


def test_profiling_leaves_results_and_gradients_unchanged():
    from gradengine import nn
    ge.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    x = ge.randn(5, 4)

    def step():
        model.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        return loss.numpy(), [p.grad.numpy().copy() for p in model.parameters()]

    plain = step()
    with ge.autograd.profiler.profile(record_shapes=True) as prof:
        profiled = step()
    np.testing.assert_array_equal(plain[0], profiled[0])
    for a, b in zip(plain[1], profiled[1]):
        np.testing.assert_array_equal(a, b)
    assert _counts(prof)["AccumulateGrad"] == 4
    from gradengine.core.gradmode import _mode
    assert _mode.hook is None


def test_record_function_is_a_range_with_the_ops_inside():
    x = ge.randn(3, 3)
    with ge.profiler.profile() as prof:
        with ge.profiler.record_function("block"):
            y = (x * 2.0).exp()
        z = y + 1.0

    @ge.autograd.profiler.record_function("decorated")
    def f(t):
        return t * 3.0

    with ge.autograd.profiler.profile() as p2:
        f(x)
    rows = {e.key: e for e in prof.key_averages()}
    assert rows["block"].count == 1
    inside = rows["mul"].cpu_time_total + rows["exp"].cpu_time_total
    assert rows["block"].cpu_time_total >= inside
    assert rows["block"].self_cpu_time_total == pytest.approx(
        rows["block"].cpu_time_total - inside, abs=1e-3)
    assert rows["add"].count == 1
    assert _counts(p2) == {"decorated": 1, "mul": 1}
    np.testing.assert_array_equal(z.numpy(), np.exp(x.numpy() * 2.0) + 1.0)


def test_table_sorts_and_limits_rows():
    x = ge.randn(8, 8)
    with ge.profiler.profile() as prof:
        for _ in range(4):
            x = (x @ x).tanh()
        x.sum()
    text = prof.key_averages().table(sort_by="count", row_limit=2)
    body = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("-")]
    assert "Name" in body[0] and "# of Calls" in body[0] and "CPU total" in body[0]
    assert len(body) == 1 + 2 + 1  # the header, two rows, the total
    assert body[1].split()[0] in ("matmul", "tanh") and body[1].split()[-1] == "4"
    assert body[-1].startswith("Self CPU time total:")
    full = prof.key_averages().table(sort_by="cpu_time_total", row_limit=-1)
    times = [e.cpu_time_total for e in sorted(prof.key_averages(),
                                              key=lambda e: -e.cpu_time_total)]
    assert [ln.split()[0] for ln in full.splitlines()[3:3 + len(times)]] == \
        [e.key for e in sorted(prof.key_averages(), key=lambda e: -e.cpu_time_total)]
    assert times == sorted(times, reverse=True)


def test_record_shapes_groups_by_input_shape_as_torch():
    def run(lib, prof):
        with prof(record_shapes=True) as p:
            lib.ones(2, 3) @ lib.ones(3, 4)
            lib.ones(5, 2) @ lib.ones(2, 2)
        return p

    ours = run(ge, ge.profiler.profile)
    ref = run(torch, torch.profiler.profile)
    got = sorted(e.input_shapes for e in ours.key_averages(group_by_input_shape=True)
                 if e.key == "matmul")
    want = sorted(e.input_shapes for e in ref.key_averages(group_by_input_shape=True)
                  if e.key == "aten::matmul")
    assert got == want


def test_export_chrome_trace_writes_json_trace_events(tmp_path):
    import json
    x = ge.randn(3, 3)
    with ge.profiler.profile(record_shapes=True) as prof:
        with ge.profiler.record_function("outer"):
            x @ x
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    data = json.loads(path.read_text())
    events = data["traceEvents"]
    assert {e["name"] for e in events} == {"outer", "matmul"}
    for e in events:
        assert e["ph"] == "X" and e["dur"] >= 0 and isinstance(e["ts"], float)
        assert e["cat"] in ("cpu_op", "user_annotation")
    assert next(e for e in events if e["name"] == "matmul")["args"]["Input Dims"] == [[3, 3],
                                                                                      [3, 3]]


def test_a_disabled_profiler_records_nothing():
    with ge.autograd.profiler.profile(enabled=False) as prof:
        ge.randn(2) * 2.0
    assert list(prof.key_averages()) == []
    with pytest.raises(RuntimeError):
        with ge.autograd.profiler.profile() as p:
            p.key_averages()  # torch: "Profiler didn't finish running"


def test_a_schedule_records_the_active_steps_as_torch():
    def run(lib, prof_mod):
        seen = []
        x = lib.ones(2, 2)
        sched = prof_mod.schedule(wait=1, warmup=1, active=2, repeat=1)
        with prof_mod.profile(schedule=sched,
                              on_trace_ready=lambda p: seen.append(p.key_averages())) as p:
            for i in range(6):
                for _ in range(i + 1):  # step i runs i + 1 matmuls
                    x = x @ x
                p.step()
        return [{e.key: e.count for e in ka} for ka in seen]

    ours = run(ge, ge.profiler)
    ref = run(torch, torch.profiler)
    assert len(ours) == len(ref) == 1
    assert ours[0]["matmul"] == ref[0]["aten::matmul"] == 3 + 4
    assert ours[0]["ProfilerStep*"] == ref[0]["ProfilerStep*"] == 2  # steps 2 and 3


def test_profiler_activity_names_are_torchs():
    assert [a.name for a in ge.profiler.ProfilerActivity] == \
        [a for a in torch.profiler.ProfilerActivity.__members__]


def test_a_jitted_function_runs_eagerly_under_the_profiler_and_replays_after():
    @ge.jit
    def f(x):
        return (x * 2.0).sigmoid()

    x = ge.randn(3, 3)
    with ge.no_grad():
        want = f(x).numpy()
        with ge.profiler.profile() as prof:
            got = f(x)
        got = got.numpy()
        again = f(x).numpy()
    assert _counts(prof) == {"mul": 1, "sigmoid": 1}
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(again, want)
    assert f.traces == 1


def test_a_profiler_inside_a_recorded_step_chains_to_ge_jit():
    from gradengine import nn
    ge.manual_seed(1)
    model = nn.Linear(3, 2)
    opt = ge.optim.SGD(model.parameters(), lr=0.1)
    x = ge.randn(4, 3)
    profs = []

    def body():
        opt.zero_grad()
        with ge.profiler.profile() as prof:
            loss = (model(x) ** 2).mean()
            loss.backward()
        profs.append(prof)
        opt.step()
        return loss

    step = ge.jit(body)
    ref = nn.Linear(3, 2)
    ref.load_state_dict(model.state_dict())
    ropt = ge.optim.SGD(ref.parameters(), lr=0.1)
    for _ in range(3):
        loss = step()
        ropt.zero_grad()
        rl = (ref(x) ** 2).mean()
        rl.backward()
        ropt.step()
        np.testing.assert_array_equal(loss.numpy(), rl.numpy())
    assert step.traces == 1 and len(profs) == 1  # recorded once (profiled), replayed twice
    assert _counts(profs[0])["matmul"] >= 1
    np.testing.assert_array_equal(model.weight.numpy(), ref.weight.numpy())


def test_ge_jit_runs_eagerly_when_saved_tensor_hooks_are_active():
    n = []
    w = ge.tensor(A, requires_grad=True)

    @ge.jit
    def f(x):
        return (x * w).sum()

    x = ge.tensor(B)
    with graph.saved_tensors_hooks(lambda t: n.append(1) or t, lambda t: t):
        with pytest.warns(RuntimeWarning, match="saved_tensors_hooks"):
            y = f(x)
        y.backward()
        w.grad = None
        f(x).backward()  # eagerly again: the hooks are called again
    assert len(n) == 2
    np.testing.assert_array_equal(w.grad.numpy(), x.numpy())


def test_save_on_cpu_and_the_profiler_on_every_device(device):
    seen = []

    def pack(t):
        seen.append(t.device)
        return t.device, t.cpu()

    def run(hooks):
        x = ge.tensor(A, requires_grad=True, device=device)
        w = ge.tensor(B, requires_grad=True, device=device)
        with hooks:
            y = ((x * w).sigmoid() * x).sum()
        y.backward()
        return x.grad.numpy(), w.grad.numpy()

    import contextlib
    plain = run(contextlib.nullcontext())
    for hooks in (graph.save_on_cpu(),
                  graph.saved_tensors_hooks(pack, lambda p: p[1].to(p[0]))):
        got = run(hooks)
        np.testing.assert_array_equal(got[0], plain[0])
        np.testing.assert_array_equal(got[1], plain[1])
    assert seen and all(d.startswith(device) for d in seen)
    with ge.profiler.profile() as prof:
        run(contextlib.nullcontext())
    assert _counts(prof)["sigmoid"] == 1 and _counts(prof)["AccumulateGrad"] == 2


def test_gradcheck_and_gradgradcheck_through_save_on_cpu():
    def f(x, w):
        with graph.save_on_cpu():
            return ((x * w).tanh() * x).sum()

    x = ge.tensor(A, requires_grad=True, dtype="float64")
    w = ge.tensor(B, requires_grad=True, dtype="float64")
    assert ge.gradcheck(f, (x, w))
    assert ge.gradgradcheck(f, (x, w))


def test_increment_version_makes_a_saved_tensor_stale_as_torch():
    for lib in (ge, torch):
        a = lib.tensor(A, requires_grad=True)
        h = a * 1.0
        y = (h * a).sum()
        h.data[0] = 5.0  # behind the engine's back
        lib.autograd.graph.increment_version(h)
        with pytest.raises(RuntimeError, match="modified"):
            y.backward()


def test_save_on_cpu_keeps_no_reference_to_the_users_tensors():
    import weakref
    x = ge.tensor(A, requires_grad=True)
    with graph.save_on_cpu():
        h = x.sigmoid()  # saves its output
        loss = (h * 2.0).sum()
    ref = weakref.ref(h)
    del h
    assert ref() is None  # dead by reference counting, as without hooks
    loss.backward()
    s = 1 / (1 + np.exp(-np.array(A, dtype=np.float32)))
    np.testing.assert_allclose(x.grad.numpy(), 2 * s * (1 - s), rtol=1e-6)


def test_a_scripted_function_with_data_dependent_control_flow_stays_right():
    def f(x):
        if bool(x.sum() > 0):
            return x * 2.0
        return x * -1.0

    sf, tf = ge.jit.script(f), torch.jit.script(f)
    with ge.no_grad():
        with pytest.warns(RuntimeWarning, match="eagerly"):
            sf(ge.tensor(A))
        for v in (A, [-1.0, -2.0, 0.5], B):
            np.testing.assert_array_equal(sf(ge.tensor(v)).numpy(),
                                          tf(torch.tensor(v)).numpy())


def test_a_retained_saved_output_gets_its_grad_under_hooks_as_torch():
    for create in (False, True):
        res = []
        for lib in (ge, torch):
            x = lib.tensor(A, requires_grad=True)
            with lib.autograd.graph.save_on_cpu():
                h = x.sigmoid()
                h.retain_grad()
                loss = (h * h).sum()
            loss.backward(create_graph=create)
            res.append((h.grad.detach().numpy(), x.grad.detach().numpy()))
        np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-6)
        np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-6)
