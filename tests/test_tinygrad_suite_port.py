"""Cases from tinygrad's op suite (test/backend/test_ops.py) that gradengine got wrong,
each run as that suite runs it: the same PyTorch expression on torch and on gradengine,
values and gradients compared. torch is the oracle; the module skips without it."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge

torch = pytest.importorskip("torch")


def _pair(arr, grad=True):
    return (ge.tensor(arr, requires_grad=grad and arr.dtype.kind == "f"),
            torch.tensor(arr, requires_grad=grad and arr.dtype.kind == "f"))


def _check(g, t, *, atol=1e-6, rtol=1e-5):
    t = t.detach().numpy()
    assert g.shape == t.shape, (g.shape, t.shape)
    np.testing.assert_allclose(g.numpy(), t, atol=atol, rtol=rtol)


def _backward_both(g_out, t_out, seed=0):
    w = np.random.default_rng(seed).standard_normal(g_out.shape).astype(g_out.numpy().dtype)
    (g_out * ge.tensor(w)).sum().backward()
    (t_out * torch.tensor(w)).sum().backward()


# ---------------------------------------------------------------- scatter

@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2, -3])
def test_scatter_repeated_indices_last_write_wins(dim):
    rng = np.random.default_rng(abs(dim))
    idx = rng.integers(0, 3, (3, 4, 5))
    x, s = (rng.standard_normal(sh).astype(np.float32) for sh in ((4, 5, 6), (3, 4, 5)))
    (gx, tx), (gs, ts) = _pair(x), _pair(s)
    go = gx.scatter(dim, ge.tensor(idx), gs)
    to = tx.scatter(dim, torch.tensor(idx), ts)
    _check(go, to, atol=0)
    _backward_both(go, to)
    _check(gx.grad, tx.grad, atol=0)
    # src: torch hands every repeated write the gradient; the exact derivative gives it
    # to the write that stayed alone (torch's, masked)
    ax = dim % 3
    ids = np.arange(idx.size).reshape(idx.shape)
    pos = list(np.indices(idx.shape))
    pos[ax] = idx
    last = np.full(x.shape, -1)
    last[tuple(pos)] = ids
    stayed = last[tuple(pos)] == ids
    assert not stayed.all()  # the case has repeats
    np.testing.assert_array_equal(gs.grad.numpy(), np.where(stayed, ts.grad.numpy(), 0))
    assert ge.gradcheck(lambda a, b: a.scatter(dim, ge.tensor(idx), b),
                        [ge.tensor(x, dtype="float64", requires_grad=True),
                         ge.tensor(s, dtype="float64", requires_grad=True)])


def test_scatter_src_larger_than_index_and_value_forms():
    rng = np.random.default_rng(1)
    idx = rng.integers(0, 3, (3, 4, 5))
    x, s = rng.standard_normal((4, 5, 6)), rng.standard_normal((4, 5, 6))
    _check(ge.tensor(x).scatter(1, ge.tensor(idx), ge.tensor(s)),
           torch.tensor(x).scatter(1, torch.tensor(idx), torch.tensor(s)), atol=0)
    for v in (3, float("inf")):
        _check(ge.tensor(x).scatter(1, ge.tensor(idx), value=v),
               torch.tensor(x).scatter(1, torch.tensor(idx), value=v), atol=0)
    xi = rng.integers(0, 9, (4, 5, 6))
    _check(ge.tensor(xi).scatter(2, ge.tensor(idx), ge.tensor(xi)),
           torch.tensor(xi).scatter(2, torch.tensor(idx), torch.tensor(xi)), atol=0)
    a = ge.tensor([1.0, 2.0, 3.0, 4.0])
    a.scatter_(0, ge.tensor([0, 0]), ge.tensor([1.0, 0.0]))
    assert a.tolist() == [0.0, 2.0, 3.0, 4.0]


def test_scatter_multiply_accumulates_repeats_and_dtype_mismatch_raises():
    rng = np.random.default_rng(2)
    idx = rng.integers(0, 3, (3, 4, 5))
    x = rng.standard_normal((4, 5, 6)).astype(np.float32)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = torch.tensor(x).scatter(1, torch.tensor(idx), torch.tensor(x), reduce="multiply")
    _check(ge.tensor(x).scatter(1, ge.tensor(idx), ge.tensor(x), reduce="multiply"), want)
    with pytest.raises(ge.DTypeError, match="scatter"):
        ge.tensor(x).half().scatter(1, ge.tensor(idx), ge.tensor(x))


# ---------------------------------------------------------------- indexing

@pytest.mark.parametrize("key", [
    lambda c, e: (1, (2, 1, 0), None, c, (2, 1, 0), e),
    lambda c, e: ((((0,),),),),
    lambda c, e: ((1, 0), slice(None), c),
    lambda c, e: (0, ((2,), (1,), (0,)), c, (2, 1, 0)),
])
def test_tuples_inside_an_index_are_sequences(key):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 6, 5, 3, 4))
    c = rng.integers(-5, 5, (1, 1, 4, 1, 1, 1))
    e = rng.integers(0, 1, (1, 1, 1, 1, 6, 1))
    gx, tx = _pair(x)
    go, to = gx[key(ge.tensor(c), ge.tensor(e))], tx[key(torch.tensor(c), torch.tensor(e))]
    _check(go, to, atol=0)
    _backward_both(go, to)
    _check(gx.grad, tx.grad)


# ---------------------------------------------------------------- copysign

@pytest.mark.parametrize("sa,sb", [((45, 65), (45, 65)), ((45, 65), (45, 1)),
                                   ((45, 1), (1, 65)), ((), ())])
def test_copysign_gradients_match_torch(sa, sb):
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)
    if a.ndim:
        a.flat[:3] = [0.0, -0.0, 2.0]
        b.flat[:1] = [-0.0]
    (ga, ta), (gb, tb) = _pair(a), _pair(b)
    go, to = ge.copysign(ga, gb), torch.copysign(ta, tb)
    _check(go, to, atol=0)
    _backward_both(go, to)
    _check(ga.grad, ta.grad)
    _check(gb.grad, tb.grad, atol=0)  # zeros of b's shape, not None


def test_copysign_of_integers_is_float32():
    got = ge.tensor([1, 2, 0]).copysign(ge.tensor([-1, 1, -3]))
    want = torch.tensor([1, 2, 0]).copysign(torch.tensor([-1, 1, -3]))
    assert got.dtype == np.float32 and got.tolist() == want.tolist()
    assert ge.gradcheck(lambda x: ge.copysign(x, -1.0),
                        [ge.tensor([0.5, -2.0], dtype="float64", requires_grad=True)])


# ---------------------------------------------------------------- reductions, padding

@pytest.mark.parametrize("fn", ["std_mean", "var_mean"])
def test_std_and_var_mean_take_numpys_axis(fn):
    x = np.random.default_rng(5).standard_normal((3, 4, 5, 6))
    gx, tx = _pair(x)
    go = ge.stack(getattr(ge, fn)(gx, axis=(1, 2)))
    to = torch.stack(getattr(torch, fn)(tx, axis=(1, 2)))
    _check(go, to)
    _backward_both(go, to)
    _check(gx.grad, tx.grad)


@pytest.mark.parametrize("shape,pad,mode", [
    ((3, 3, 3, 3), (-1, 2, 2, -1), "reflect"), ((1, 1, 5, 5), (3, -3, 0, -3), "reflect"),
    ((1, 1, 5, 5), (3, -5, 1, -5), "reflect"), ((1, 1, 5, 5), (3, -5, 1, -5), "replicate"),
    ((2, 3, 4), (-2, 3), "replicate"), ((2, 3, 6), (-2, 3), "reflect"),
])
def test_reflect_and_replicate_pad_with_cropping_sides(shape, pad, mode):
    x = np.random.default_rng(6).standard_normal(shape)
    gx, tx = _pair(x)
    go = ge.nn.functional.pad(gx, pad, mode=mode)
    to = torch.nn.functional.pad(tx, pad, mode=mode)
    _check(go, to, atol=0)
    _backward_both(go, to)
    _check(gx.grad, tx.grad)


# ---------------------------------------------------------------- attention

@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_grouped_query_attention(causal):
    rng = np.random.default_rng(7)
    q, k, v = (rng.standard_normal(s).astype(np.float32)
               for s in ((2, 8, 5, 16), (2, 2, 7, 16), (2, 2, 7, 4)))
    (gq, tq), (gk, tk), (gv, tv) = _pair(q), _pair(k), _pair(v)
    F, TF = ge.nn.functional, torch.nn.functional
    go = F.scaled_dot_product_attention(gq, gk, gv, is_causal=causal, enable_gqa=True)
    to = TF.scaled_dot_product_attention(tq, tk, tv, is_causal=causal, enable_gqa=True)
    _check(go, to, atol=1e-5)
    _backward_both(go, to)
    for g, t in ((gq, tq), (gk, tk), (gv, tv)):
        _check(g.grad, t.grad, atol=1e-5)
    with pytest.raises(ge.ShapeError, match="enable_gqa"):
        F.scaled_dot_product_attention(gq, gk[:, :1].repeat(1, 3, 1, 1),
                                       gv[:, :1].repeat(1, 3, 1, 1), enable_gqa=True)


# ---------------------------------------------------------------- pooling

@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8])
@pytest.mark.parametrize("kw", [dict(kernel_size=(2, 2), padding=1),
                                dict(kernel_size=(3, 3), stride=1, return_indices=True)])
def test_max_pool2d_of_integers(dtype, kw):
    x = np.random.default_rng(8).integers(0, 100, (2, 3, 6, 7)).astype(dtype)
    got = ge.nn.functional.max_pool2d(ge.tensor(x), **kw)
    want = torch.nn.functional.max_pool2d(torch.tensor(x.astype(np.int64) if dtype == np.uint8
                                                       else x).double(), **kw)
    if kw.get("return_indices"):
        assert got[1].tolist() == want[1].tolist()
        got, want = got[0], want[0]
    assert got.dtype == dtype
    assert got.numpy().tolist() == want.long().tolist()


# ---------------------------------------------------------------- logcumsumexp

@pytest.mark.parametrize("vals,dim", [([0.0, 100.0], 0), ([100.0, 0.0, -100.0, 50.0], 0),
                                      ([[-1e30, 0.0, 3.0], [2.0, -np.inf, 1.0]], 1),
                                      ([[1.0, 2.0], [300.0, -5.0]], 0)])
def test_logcumsumexp_is_exact_across_scales(vals, dim):
    x = np.asarray(vals, np.float32)
    gx, tx = _pair(x)
    go, to = ge.logcumsumexp(gx, dim), torch.logcumsumexp(tx, dim)
    _check(go, to, atol=1e-7)
    _backward_both(go, to)
    _check(gx.grad, tx.grad, atol=1e-7)


def test_logcumsumexp_second_order_and_empty():
    a = ge.tensor(np.random.default_rng(9).standard_normal((3, 4)), requires_grad=True)
    assert ge.gradgradcheck(lambda t: ge.logcumsumexp(t, 1), [a])
    assert ge.logcumsumexp(ge.zeros((0, 3)), 0).shape == (0, 3)
    z = ge.tensor(1.5, requires_grad=True)
    out = z.logcumsumexp(0)
    out.backward()
    assert out.shape == () and out.item() == 1.5 and z.grad.item() == 1.0


# ---------------------------------------------------------------- dtypes

@pytest.mark.parametrize("src,dst", [("float32", "int32"), ("float32", "int16"),
                                     ("float32", "uint8"), ("int64", "float64"),
                                     ("int16", "float32"), ("float16", "int16")])
def test_view_as_another_dtype_is_a_bitcast(src, dst):
    x = (np.random.default_rng(10).standard_normal((3, 4)) * 100).astype(src)
    got = ge.tensor(x).view(getattr(ge, dst))
    want = torch.tensor(x).view(getattr(torch, dst))
    assert got.dtype == np.dtype(dst) and got.shape == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_bitcast_view_shares_memory_and_checks_the_layout():
    t = ge.tensor([[1.0, 2.0], [3.0, 4.0]])
    v = t.view(ge.int32)
    v[0, 0] = 0
    assert t[0, 0].item() == 0.0 and t.view(12 // 3).shape == (4,)
    with pytest.raises(ge.ShapeError, match="view: a tensor of shape"):
        ge.zeros((4, 3)).t().view(ge.float64)


@pytest.mark.parametrize("name", ["uint16", "uint32", "uint64"])
def test_wide_unsigned_dtypes(name):
    a = np.array([1, 2, 2**15 + 3], dtype=name)
    t = ge.tensor(a)
    assert t.dtype == getattr(ge, name) == np.dtype(name)
    np.testing.assert_array_equal((t & 3).numpy(), a & 3)
    np.testing.assert_array_equal((t << 1).numpy(), a << np.array(1, name))
    assert t.sum().item() == int(a.sum()) and (t * 2).dtype == np.dtype(name)
    assert t.to(ge.float32).tolist() == a.astype(np.float32).tolist()


# ---------------------------------------------------------------- under ge.jit

def test_the_new_ops_replay_under_jit_as_eager():
    import warnings
    F = ge.nn.functional
    rng = np.random.default_rng(11)
    w = ge.tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.1,
                  requires_grad=True)
    idx = ge.tensor(rng.integers(0, 4, (2, 4)))
    opt = ge.optim.SGD([w], lr=0.1)

    def step(x):
        opt.zero_grad()
        y = F.conv2d(x, w, padding=1)
        z = y.mean((2, 3))
        s = ge.zeros(2, 4).scatter(1, idx, z)
        loss = s.norm(p=3) + ge.logcumsumexp(z, 1).sum() + z.norm() + F.pad(
            y, (-1, 2, 0, 0), mode="reflect").sum() * 1e-3
        loss.backward()
        opt.step()
        return loss

    w0 = w.detach().numpy().copy()
    xs = [ge.tensor(rng.standard_normal((2, 3, 6, 6)).astype(np.float32)) for _ in range(4)]
    eager = [step(x).item() for x in xs]
    w_eager = w.detach().numpy().copy()
    with ge.no_grad():
        w.copy_(ge.tensor(w0))
    jitted = ge.jit(step)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback to eager would warn
        replayed = [jitted(x).item() for x in xs]
    np.testing.assert_allclose(replayed, eager, rtol=1e-5)
    np.testing.assert_allclose(w.detach().numpy(), w_eager, atol=1e-6)
