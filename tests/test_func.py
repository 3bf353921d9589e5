"""gradengine.func against torch.func: every transform on the same float64 inputs (values,
structures and requires_grad), their compositions, the functional_call training idiom,
and the errors that torch raises."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
from gradengine import func as gf
from gradengine import nn
from gradengine.func.pytree import tree_leaves, tree_map

torch = pytest.importorskip("torch")
tf = torch.func


def _pair(*shape, seed=0, positive=False):
    a = np.random.default_rng(seed).standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    return ge.tensor(a, dtype="float64"), torch.tensor(a)


def _close(ours, theirs, atol=1e-10):
    """The same nesting (tuple/list/dict) and the same values, leaf by leaf."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, ge.Tensor), type(ours)
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), atol=atol, rtol=1e-8)
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs)
        for k in theirs:
            _close(ours[k], theirs[k], atol)
    elif isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), (ours, theirs)
        for a, b in zip(ours, theirs):
            _close(a, b, atol)
    else:
        assert ours == theirs


SCALAR_FNS = {
    "sin_x": lambda x: (x.sin() * x).sum(),
    "square_mean": lambda x: (x ** 2).mean(),
    "exp_tanh": lambda x: (x.tanh() * x.exp()).sum(),
    "cube": lambda x: (x * x * x).sum() / 3.0,
}
SHAPES = [(), (3,), (2, 3)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", list(SCALAR_FNS))
def test_grad_and_hessian_match_torch(name, shape):
    f = SCALAR_FNS[name]
    x, xt = _pair(*shape, seed=len(shape))
    _close(gf.grad(f)(x), tf.grad(f)(xt))
    _close(gf.grad_and_value(f)(x), tf.grad_and_value(f)(xt))
    _close(gf.hessian(f)(x), tf.hessian(f)(xt))
    _close(gf.jacrev(gf.jacrev(f))(x), tf.jacrev(tf.jacrev(f))(xt))
    if shape == ():
        _close(gf.grad(gf.grad(f))(x), tf.grad(tf.grad(f))(xt))
        _close(gf.grad(gf.grad(gf.grad(f)))(x), tf.grad(tf.grad(tf.grad(f)))(xt))


def test_grad_argnums_int_tuple_negative_and_kwargs():
    def f(x, y, z, scale=1.0):
        return ((x * y).sin() + z ** 2).sum() * scale

    (x, xt), (y, yt), (z, zt) = _pair(3, seed=1), _pair(3, seed=2), _pair(3, seed=3)
    for argnums in (0, 1, -1, (0, 2), (2, 0), (0, 1, 2)):
        _close(gf.grad(f, argnums)(x, y, z, scale=2.0), tf.grad(f, argnums)(xt, yt, zt, scale=2.0))
        _close(gf.grad_and_value(f, argnums=argnums)(x, y, z),
               tf.grad_and_value(f, argnums=argnums)(xt, yt, zt))


def test_grad_of_pytree_inputs_gives_gradients_of_the_same_structure():
    def f(d, pair):
        return (d["a"] * d["b"]).sum() + (pair[0] * pair[1][0].exp()).sum()

    ts = [_pair(2, 2, seed=i) for i in range(4)]
    ours = ({"a": ts[0][0], "b": ts[1][0]}, (ts[2][0], [ts[3][0]]))
    theirs = ({"a": ts[0][1], "b": ts[1][1]}, (ts[2][1], [ts[3][1]]))
    _close(gf.grad(f)(*ours), tf.grad(f)(*theirs))
    _close(gf.grad(f, argnums=(0, 1))(*ours), tf.grad(f, argnums=(0, 1))(*theirs))
    _close(gf.jacrev(f, argnums=1)(*ours), tf.jacrev(f, argnums=1)(*theirs))


def test_has_aux_returns_aux_undifferentiated():
    def f(x):
        y = x.sin()
        return (y * y).sum(), {"y": y, "n": [y * 2.0, (y.sum(),)]}

    x, xt = _pair(4)
    g, aux = gf.grad(f, has_aux=True)(x)
    gt, auxt = tf.grad(f, has_aux=True)(xt)
    _close((g, aux), (gt, auxt))
    assert not aux["y"].requires_grad and not auxt["y"].requires_grad
    _close(gf.grad_and_value(f, has_aux=True)(x), tf.grad_and_value(f, has_aux=True)(xt))
    _close(gf.jacrev(f, has_aux=True)(x), tf.jacrev(f, has_aux=True)(xt))
    _close(gf.jacfwd(f, has_aux=True)(x), tf.jacfwd(f, has_aux=True)(xt))
    _close(gf.vjp(f, x, has_aux=True)[2], tf.vjp(f, xt, has_aux=True)[2])
    _both_raise(RuntimeError, lambda: gf.grad(lambda a: (a.sum(), 3), has_aux=True)(x),
                lambda: tf.grad(lambda a: (a.sum(), 3), has_aux=True)(xt), "Expected tensors")


@pytest.mark.parametrize("shape", [(3,), (2, 3)])
def test_vjp_single_tuple_and_dict_outputs(shape):
    x, xt = _pair(*shape, seed=4)
    y, yt = _pair(*shape, seed=5)
    c, ct = _pair(*shape, seed=6)

    def f(a, b):
        return (a * b).tanh(), {"s": (a.exp() * b).sum(), "p": a * 2.0}

    out, fn = gf.vjp(f, x, y)
    outt, fnt = tf.vjp(f, xt, yt)
    _close(out, outt)
    s, st = _pair(seed=7)
    cot = (c, {"s": s, "p": c * 0.5})
    cott = (ct, {"s": st, "p": ct * 0.5})
    _close(fn(cot), fnt(cott))
    _close(fn(cot), fnt(cott))  # vjp_fn may be called again
    out1, fn1 = gf.vjp(lambda a: a.sin(), x)
    out1t, fn1t = tf.vjp(lambda a: a.sin(), xt)
    _close((out1, fn1(c)), (out1t, fn1t(ct)))


@pytest.mark.parametrize("shape", [(), (3,), (2, 2)])
def test_jvp_and_linearize_match_torch(shape):
    (x, xt), (y, yt) = _pair(*shape, seed=8), _pair(*shape, seed=9)
    (u, ut), (v, vt) = _pair(*shape, seed=10), _pair(*shape, seed=11)

    def f(a, b):
        return a.sin() * b, (a * b).sum()

    _close(gf.jvp(f, (x, y), (u, v)), tf.jvp(f, (xt, yt), (ut, vt)))
    def g(a):
        return (a.exp(), a * a), a.sum()

    _close(gf.jvp(g, (x,), (u,), has_aux=True), tf.jvp(g, (xt,), (ut,), has_aux=True))
    out, fn = gf.linearize(lambda a: a.tanh() * a, x)
    outt, fnt = tf.linearize(lambda a: a.tanh() * a, xt)
    _close((out, fn(u)), (outt, fnt(ut)))
    # a function of a dict, tangents of the same structure
    def h(d):
        return d["a"] * d["b"].cos()

    _close(gf.jvp(h, ({"a": x, "b": y},), ({"a": u, "b": v},)),
           tf.jvp(h, ({"a": xt, "b": yt},), ({"a": ut, "b": vt},)))


@pytest.mark.parametrize("shape", [(3,), (2, 3)])
def test_jacrev_and_jacfwd_several_inputs_and_outputs(shape):
    (x, xt), (y, yt) = _pair(*shape, seed=12), _pair(4, seed=13)

    def f(a, b):
        return a.sin(), (a.sum() * b).exp(), {"m": (a ** 2).mean()}

    for argnums in (0, 1, (0, 1), (1, 0)):
        _close(gf.jacrev(f, argnums)(x, y), tf.jacrev(f, argnums)(xt, yt))
        _close(gf.jacfwd(f, argnums)(x, y), tf.jacfwd(f, argnums)(xt, yt))
    _close(gf.jacrev(lambda a: a, chunk_size=2)(x), tf.jacrev(lambda a: a, chunk_size=2)(xt))
    _close(gf.jacfwd(f, randomness="same")(x, y), tf.jacfwd(f, randomness="same")(xt, yt))


def test_hessian_with_argnums_tuple_and_several_shapes():
    def f(a, b):
        return (a.sin() * b.sum() + a * a).sum() + (b ** 3).sum()

    (x, xt), (y, yt) = _pair(2, 2, seed=14), _pair(3, seed=15)
    _close(gf.hessian(f)(x, y), tf.hessian(f)(xt, yt))
    _close(gf.hessian(f, argnums=1)(x, y), tf.hessian(f, argnums=1)(xt, yt))
    _close(gf.hessian(f, argnums=(0, 1))(x, y), tf.hessian(f, argnums=(0, 1))(xt, yt))
    _close(gf.jacfwd(gf.jacfwd(f))(x, y), tf.jacfwd(tf.jacfwd(f))(xt, yt))


# ------------------------------------------------------------------------------- vmap
@pytest.mark.parametrize("in_dims,shape", [(0, (4, 3)), (1, (3, 4)), (-1, (2, 3, 4)),
                                           (-2, (2, 4, 3))])
def test_vmap_in_dims_match_torch(in_dims, shape):
    x, xt = _pair(*shape, seed=16)

    def f(r):
        return (r.sin() * r).sum(0) if r.ndim else r * 2.0

    _close(ge.vmap(f, in_dims)(x), torch.vmap(f, in_dims)(xt))
    for out_dims in (0, 1, -1):
        _close(ge.vmap(lambda r: r.exp(), in_dims, out_dims)(x),
               torch.vmap(lambda r: r.exp(), in_dims, out_dims)(xt))


def test_vmap_none_in_dims_nested_pytrees_out_dims_and_kwargs():
    (x, xt), (w, wt), (b, bt) = _pair(5, 3, seed=17), _pair(3, 2, seed=18), _pair(2, seed=19)
    (z, zt) = _pair(2, 5, seed=20)

    def f(inp, params, scale=1.0):
        h = inp["x"] @ params[0] + params[1]
        return {"h": h * scale, "both": (h.sum(), inp["z"] * 2.0)}

    ours = ge.vmap(f, in_dims=({"x": 0, "z": 1}, None), out_dims={"h": 1, "both": (0, -1)})(
        {"x": x, "z": z}, (w, b), scale=3.0)
    theirs = torch.vmap(f, in_dims=({"x": 0, "z": 1}, None), out_dims={"h": 1, "both": (0, -1)})(
        {"x": xt, "z": zt}, (wt, bt), scale=3.0)
    _close(ours, theirs)
    _close(ge.vmap(f, in_dims=(0, (None, None)), chunk_size=2)({"x": x, "z": z.T}, (w, b)),
           torch.vmap(f, in_dims=(0, (None, None)), chunk_size=2)({"x": xt, "z": zt.T}, (wt, bt)))
    # an unmapped output (out_dims=None), a list argument
    _close(ge.vmap(lambda r, lst: (r * 2.0 + lst[0], w), in_dims=(0, [1]),
                   out_dims=(0, None))(x, [x.T]),
           torch.vmap(lambda r, lst: (r * 2.0 + lst[0], wt), in_dims=(0, [1]),
                      out_dims=(0, None))(xt, [xt.T]))
    with pytest.raises(ValueError, match="not compatible"):  # a tuple is not a list's prefix
        ge.vmap(lambda r: [r, r], out_dims=(0, None))(x)


def test_nested_vmap_is_an_outer_product_of_maps():
    (x, xt), (y, yt) = _pair(3, 2, seed=21), _pair(4, 2, seed=22)

    def dot(a, b):
        return (a * b).sum()

    _close(ge.vmap(ge.vmap(dot, (None, 0)), (0, None))(x, y),
           torch.vmap(torch.vmap(dot, (None, 0)), (0, None))(xt, yt))
    _close(ge.vmap(ge.vmap(lambda a: a.exp(), out_dims=0), in_dims=1, out_dims=1)(x),
           torch.vmap(torch.vmap(lambda a: a.exp(), out_dims=0), in_dims=1, out_dims=1)(xt))


def test_vmap_of_an_empty_batch_has_the_mapped_dimension_zero():
    x, xt = _pair(0, 3)
    _close(ge.vmap(lambda r: (r.sum(), r * 2.0))(x),
           torch.vmap(lambda r: (r.sum(), r * 2.0))(xt))


def test_vmap_randomness_error_same_and_different():
    x = ge.zeros(3, 4, dtype="float64")

    def noisy(r):
        return r + ge.randn(4, dtype="float64")

    with pytest.raises(RuntimeError, match="randomness"):
        ge.vmap(noisy)(x)
    ge.manual_seed(0)
    same = ge.vmap(noisy, randomness="same")(x).numpy()
    assert np.allclose(same, same[:1]) and not np.allclose(same, 0)
    diff = ge.vmap(noisy, randomness="different")(x).numpy()
    assert not np.allclose(diff[0], diff[1])
    with pytest.raises(RuntimeError, match="randomness"):
        torch.vmap(lambda r: r + torch.randn(4))(torch.zeros(3, 4))


# ----------------------------------------------------------------------- compositions
def test_vmap_of_grad_gives_per_sample_gradients():
    (x, xt), (w, wt) = _pair(6, 3, seed=23), _pair(3, seed=24)

    def loss(w, xi):
        return ((xi * w).sum().tanh() - 0.5) ** 2

    _close(ge.vmap(gf.grad(loss), in_dims=(None, 0))(w, x),
           torch.vmap(tf.grad(loss), in_dims=(None, 0))(wt, xt))
    _close(ge.vmap(gf.jacrev(lambda a: a.sin() * a.sum()))(x),
           torch.vmap(tf.jacrev(lambda a: a.sin() * a.sum()))(xt))
    _close(ge.vmap(gf.hessian(lambda a: (a.exp() * a).sum()))(x),
           torch.vmap(tf.hessian(lambda a: (a.exp() * a).sum()))(xt))
    _close(gf.grad(lambda a: ge.vmap(lambda r: (r * r).sum())(a).sin().sum())(x),
           tf.grad(lambda a: torch.vmap(lambda r: (r * r).sum())(a).sin().sum())(xt))


def test_jvp_of_grad_is_a_hessian_vector_product_and_grad_of_vjp():
    (x, xt), (v, vt) = _pair(4, seed=25), _pair(4, seed=26)

    def f(a):
        return (a.sin() * a.exp()).sum()

    _close(gf.jvp(gf.grad(f), (x,), (v,)), tf.jvp(tf.grad(f), (xt,), (vt,)))

    def g(a):  # the gradient of a function of a vjp (differentiates through vjp_fn)
        _, fn = gf.vjp(lambda b: b.tanh() * b, a)
        return (fn(v)[0] ** 2).sum()

    def gt(a):
        _, fn = tf.vjp(lambda b: b.tanh() * b, a)
        return (fn(vt)[0] ** 2).sum()

    _close(gf.grad(g)(x), tf.grad(gt)(xt))
    # a closure over the outer argument: the inner transform's result stays differentiable
    _close(gf.grad(lambda a: gf.grad(lambda b: (a * b).sin().sum())(v).sum())(x),
           tf.grad(lambda a: tf.grad(lambda b: (a * b).sin().sum())(vt).sum())(xt))
    _close(gf.jacrev(gf.jacfwd(lambda a: a.sin() * a[0]))(x),
           tf.jacrev(tf.jacfwd(lambda a: a.sin() * a[0]))(xt))


def test_deeper_compositions_match_torch():
    x, xt = _pair(3, 2, seed=44)

    def f(r):
        return (r.sin() * r.exp()).sum()

    _close(gf.grad(lambda r: gf.hessian(f)(r).sum())(x),
           tf.grad(lambda r: tf.hessian(f)(r).sum())(xt))  # third order
    _close(gf.jacrev(ge.vmap(lambda r: r.sin() * r.sum()))(x),
           tf.jacrev(torch.vmap(lambda r: r.sin() * r.sum()))(xt))
    _close(ge.vmap(gf.jacfwd(lambda r: r.tanh() * r[0]))(x),
           torch.vmap(tf.jacfwd(lambda r: r.tanh() * r[0]))(xt))
    _close(gf.vjp(gf.grad(f), x)[1](x), tf.vjp(tf.grad(f), xt)[1](xt))
    _close(gf.grad(lambda r: gf.jvp(f, (r,), (r,))[1])(x),
           tf.grad(lambda r: tf.jvp(f, (r,), (r,))[1])(xt))
    _close(ge.vmap(ge.vmap(gf.grad(lambda s: s.sin() * s)))(x),
           torch.vmap(torch.vmap(tf.grad(lambda s: s.sin() * s)))(xt))


def test_results_require_grad_exactly_where_torch_s_do():
    def f(a):
        return (a ** 3).sum()

    x, xt = _pair(3, seed=27)
    for requires in (False, True):
        xi = x.detach().requires_grad_(requires)
        xti = xt.detach().requires_grad_(requires)
        assert gf.grad(f)(xi).requires_grad == tf.grad(f)(xti).requires_grad == requires
        assert gf.jacrev(lambda a: a.sin())(xi).requires_grad == requires
        assert gf.vjp(lambda a: a.sin(), xi)[0].requires_grad == requires
        with ge.no_grad():
            assert not gf.grad(f)(xi).requires_grad
        with torch.no_grad():
            assert not tf.grad(f)(xti).requires_grad
    # the outer backward through grad(f): d/dx sum(3x^2) = 6x
    xr = x.detach().requires_grad_(True)
    gf.grad(f)(xr).sum().backward()
    xtr = xt.detach().requires_grad_(True)
    tf.grad(f)(xtr).sum().backward()
    _close(xr.grad, xtr.grad)
    assert ge.gradcheck(lambda a: gf.grad(lambda b: (b.sin() * b).sum())(a),
                        (x.detach().requires_grad_(True),))


def _sin_x(x):
    return x.sin() * x


_RG_CASES = {
    "grad": lambda m, F, x, w: F.grad(lambda y: _sin_x(y).sum())(x),
    "grad_and_value": lambda m, F, x, w: F.grad_and_value(lambda y: _sin_x(y).sum())(x),
    "vjp_output": lambda m, F, x, w: F.vjp(_sin_x, x)[0],
    "vjp_fn": lambda m, F, x, w: F.vjp(_sin_x, x)[1](w),
    "jvp": lambda m, F, x, w: F.jvp(_sin_x, (x,), (w,)),
    "jacrev": lambda m, F, x, w: F.jacrev(_sin_x)(x),
    "jacfwd": lambda m, F, x, w: F.jacfwd(_sin_x)(x),
    "hessian": lambda m, F, x, w: F.hessian(lambda y: _sin_x(y).sum())(x),
    "closure": lambda m, F, x, w: F.grad(lambda y: (y * y * w).sum())(x),
    "linear": lambda m, F, x, w: F.grad(lambda y: (y * w).sum())(x),
    "vmap_grad": lambda m, F, x, w: m.vmap(F.grad(lambda y: y.sin() * w[0]))(x),
}


def _flags(tree):
    if isinstance(tree, (tuple, list)):
        return [f for t in tree for f in _flags(t)]
    return [tree.requires_grad]


@pytest.mark.parametrize("name", list(_RG_CASES))
def test_requires_grad_of_every_result_is_torch_s(name):
    """Inputs and closed-over tensors tracked or not: each result requires grad (stays on
    the caller's graph) exactly when torch.func's does."""
    a = np.random.default_rng(40).standard_normal(3)
    case = _RG_CASES[name]
    for rx in (False, True):
        for rw in (False, True):
            x = ge.tensor(a, dtype="float64").requires_grad_(rx)
            w = ge.tensor(2 * a, dtype="float64").requires_grad_(rw)
            xt, wt = torch.tensor(a).requires_grad_(rx), torch.tensor(2 * a).requires_grad_(rw)
            ours, theirs = case(ge, gf, x, w), case(torch, tf, xt, wt)
            _close(ours, theirs)
            assert _flags(ours) == _flags(theirs), (rx, rw)


# --------------------------------------------------------------------- functional_call
def _mlps(seed=0):
    """A gradengine MLP and the same torch MLP (torch's Linear weight is ours transposed)."""
    ge.manual_seed(seed)
    ours = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).to("float64")
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(),
                                 torch.nn.Linear(5, 2)).double()
    with torch.no_grad():
        for k, p in ours.named_parameters():
            getattr(theirs[int(k[0])], k[2:]).copy_(torch.tensor(p.numpy().T.copy()))
    return ours, theirs


def _t(name, arr):  # our parameter as torch lays it out
    return arr.T if name.endswith("weight") else arr


def test_functional_call_training_idiom_matches_torch_func():
    model, tmodel = _mlps()
    (x, xt), (y, yt) = _pair(8, 3, seed=28), _pair(8, 2, seed=29)

    def loss(params, xb, yb):
        return ge.mse_loss(gf.functional_call(model, params, (xb,)), yb)

    def tloss(params, xb, yb):
        return torch.nn.functional.mse_loss(tf.functional_call(tmodel, params, (xb,)), yb)

    params = {k: v.detach() for k, v in model.named_parameters()}
    tparams = {k: v.detach() for k, v in tmodel.named_parameters()}
    before = {k: v.numpy().copy() for k, v in model.named_parameters()}
    for _ in range(3):  # plain SGD on the functional parameters, in both libraries
        g, val = gf.grad_and_value(loss)(params, x, y)
        gt, valt = tf.grad_and_value(tloss)(tparams, xt, yt)
        _close(val, valt)
        assert list(g) == list(gt)
        for k in g:
            np.testing.assert_allclose(_t(k, g[k].numpy()), gt[k].numpy(), atol=1e-12)
            assert not g[k].requires_grad
        params = {k: p - 0.1 * g[k] for k, p in params.items()}
        tparams = {k: p - 0.1 * gt[k] for k, p in tparams.items()}
    for k, p in model.named_parameters():  # the module's own parameters are untouched
        np.testing.assert_array_equal(p.numpy(), before[k])
        assert isinstance(p, nn.Parameter)
    assert [k for k, _ in model.named_parameters()] == list(before)
    # per-sample gradients: vmap over the batch, parameters shared
    ps = ge.vmap(gf.grad(lambda p, a, b: loss(p, a[None], b[None])), (None, 0, 0))(params, x, y)
    pst = torch.vmap(tf.grad(lambda p, a, b: tloss(p, a[None], b[None])), (None, 0, 0))(
        tparams, xt, yt)
    for k in ps:
        np.testing.assert_allclose(np.swapaxes(ps[k].numpy(), -1, -2) if k.endswith("weight")
                                   else ps[k].numpy(), pst[k].numpy(), atol=1e-12)


def test_grad_of_functional_call_with_parameters_that_require_grad_stays_on_the_graph():
    model, _ = _mlps(1)
    x, _ = _pair(4, 3, seed=30)
    params = dict(model.named_parameters())
    g = gf.grad(lambda p: gf.functional_call(model, p, x).sum())(params)
    assert all(t.requires_grad for k, t in g.items() if k == "2.weight")  # depends on params
    sum(t.sum() for t in g.values()).backward()  # second order through the outer graph
    assert model[0].weight.grad is not None


class _Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.foo = nn.Parameter(ge.ones(2, dtype="float64"))
        self.bar = self.foo
        self.register_buffer("count", ge.zeros((), dtype="float64"))

    def forward(self, x):
        self.count = self.count + 1.0  # rebinds a buffer: written back into the dict
        return x + self.foo + self.bar * 2.0


class _TTied(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.foo = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
        self.bar = self.foo
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    def forward(self, x):
        self.count = self.count + 1.0
        return x + self.foo + self.bar * 2.0


def test_functional_call_tie_weights_strict_buffers_and_write_back():
    m, mt = _Tied(), _TTied()
    (x, xt), (v, vt) = _pair(2, seed=31), _pair(2, seed=32)
    for tie in (True, False):
        _close(gf.functional_call(m, {"foo": v}, x, tie_weights=tie),
               tf.functional_call(mt, {"foo": vt}, xt, tie_weights=tie))
    d, dt = {"foo": v, "count": ge.tensor(5.0, dtype="float64")}, {
        "foo": vt, "count": torch.tensor(5.0, dtype=torch.float64)}
    _close(gf.functional_call(m, (d,), (x,)), tf.functional_call(mt, (dt,), (xt,)))
    _close(gf.functional_call(m, d, (x,)), tf.functional_call(mt, dt, (xt,)))
    _close(d["count"], dt["count"])  # the rebinding went into the dict (6.0), as torch's
    _close(m.count, mt.count)  # and not into the module
    assert m.foo is m.bar and isinstance(m.foo, nn.Parameter)
    with pytest.raises(ValueError, match="tied"):
        gf.functional_call(m, {"foo": v, "bar": x}, x)
    with pytest.raises(ValueError, match="tied"):
        tf.functional_call(mt, {"foo": vt, "bar": xt}, xt)
    with pytest.raises(RuntimeError, match="Missing key"):
        gf.functional_call(m, {"foo": v}, x, strict=True)
    with pytest.raises(RuntimeError, match="Missing key"):
        tf.functional_call(mt, {"foo": vt}, xt, strict=True)
    with pytest.raises(RuntimeError, match="Unexpected key"):
        gf.functional_call(m, {"foo": v, "bar": v, "count": v, "baz": v}, x, strict=True)
    with pytest.raises(ValueError, match="multiple dictionaries"):
        gf.functional_call(m, ({"foo": v}, {"foo": v}), x)


def test_functional_call_restores_the_module_when_forward_raises():
    class Boom(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)

        def forward(self, x):
            raise KeyError("boom")

    m = Boom()
    w, b = m.lin.weight, m.lin.bias
    with pytest.raises(KeyError, match="boom"):
        gf.functional_call(m, {"lin.weight": ge.zeros(2, 2), "extra": ge.ones(1)}, ge.ones(2))
    assert m.lin.weight is w and m.lin.bias is b and not hasattr(m, "extra")
    assert dict(m.named_parameters()) == {"lin.weight": w, "lin.bias": b}


def test_stack_module_state_ensemble_with_vmap_matches_torch():
    pairs = [_mlps(s) for s in range(3)]
    params, buffers = gf.stack_module_state([p[0] for p in pairs])
    tparams, tbuffers = tf.stack_module_state([p[1] for p in pairs])
    assert list(params) == list(tparams) and buffers == {} and tbuffers == {}
    assert all(p.requires_grad and p.grad_fn is None for p in params.values())
    for k in params:
        np.testing.assert_array_equal(np.swapaxes(params[k].numpy(), -1, -2) if
                                      k.endswith("weight") else params[k].numpy(),
                                      tparams[k].detach().numpy())
    x, xt = _pair(4, 3, seed=33)
    base, tbase = pairs[0][0], pairs[0][1]
    out = ge.vmap(lambda p, b, a: gf.functional_call(base, (p, b), (a,)), (0, 0, None))(
        params, buffers, x)
    outt = torch.vmap(lambda p, b, a: tf.functional_call(tbase, (p, b), (a,)), (0, 0, None))(
        tparams, tbuffers, xt)
    _close(out, outt)
    with pytest.raises(RuntimeError, match="at least one"):
        gf.stack_module_state([])


# ---------------------------------------------------------------------------- errors
def _both_raise(exc, ours, theirs, match=None):
    with pytest.raises(exc, match=match):
        ours()
    with pytest.raises(exc, match=match):
        theirs()


def test_errors_are_the_exceptions_torch_raises():
    x, xt = _pair(3)
    _both_raise(RuntimeError, lambda: gf.grad(lambda a: a * 2.0)(x),
                lambda: tf.grad(lambda a: a * 2.0)(xt), "scalar Tensor")
    with pytest.raises(ge.ShapeError, match=r"shape \(3,\)"):
        gf.grad(lambda a: a * 2.0)(x)
    _both_raise(RuntimeError, lambda: gf.grad(lambda a: a.sum(), has_aux=True)(x),
                lambda: tf.grad(lambda a: a.sum(), has_aux=True)(xt), r"\(output, aux\)")
    _both_raise(RuntimeError, lambda: gf.vjp(lambda a: a, x, has_aux=True),
                lambda: tf.vjp(lambda a: a, xt, has_aux=True), r"\(output, aux\)")
    _both_raise(RuntimeError, lambda: gf.grad(lambda a: a.sum(), argnums=2)(x),
                lambda: tf.grad(lambda a: a.sum(), argnums=2)(xt), "argnum=2")
    _both_raise(RuntimeError, lambda: gf.grad(lambda a, b: a.sum(), argnums=(0, 0))(x, x),
                lambda: tf.grad(lambda a, b: a.sum(), argnums=(0, 0))(xt, xt), "unique")
    _both_raise(RuntimeError, lambda: gf.grad(lambda a: a.sum(), argnums=())(x),
                lambda: tf.grad(lambda a: a.sum(), argnums=())(xt), "non-empty")
    _both_raise(ValueError, lambda: gf.grad(lambda a: a)(3.0),
                lambda: tf.grad(lambda a: a)(3.0), "must be Tensor")
    _both_raise(RuntimeError, lambda: gf.jvp(lambda a: a, x, (x,)),
                lambda: tf.jvp(lambda a: a, xt, (xt,)), "primals to be a tuple")
    _both_raise(RuntimeError, lambda: gf.jvp(lambda a: a, (x,), [x]),
                lambda: tf.jvp(lambda a: a, (xt,), [xt]), "same python structure")
    _both_raise(RuntimeError, lambda: gf.vjp(lambda a: (a, a), x)[1](x),
                lambda: tf.vjp(lambda a: (a, a), xt)[1](xt), "pytree structure")
    _both_raise(RuntimeError, lambda: gf.vjp(lambda a: 3, x), lambda: tf.vjp(lambda a: 3, xt))
    _both_raise(RuntimeError, lambda: gf.jvp(lambda a: ge.ones(2), (x,), (x,), strict=True),
                lambda: tf.jvp(lambda a: torch.ones(2), (xt,), (xt,), strict=True),
                "independent of the inputs")
    _both_raise(ValueError, lambda: gf.jacrev(lambda a: a, chunk_size=0),
                lambda: tf.jacrev(lambda a: a, chunk_size=0), "chunk_size")


def test_vmap_errors_are_torch_s_value_errors():
    (x, xt), (y, yt) = _pair(3, 2), _pair(4, 2)
    _both_raise(ValueError, lambda: ge.vmap(lambda a, b: a + b)(x, y),
                lambda: torch.vmap(lambda a, b: a + b)(xt, yt), "same size")
    _both_raise(ValueError, lambda: ge.vmap(lambda a: a, in_dims=(0, 0))(x),
                lambda: torch.vmap(lambda a: a, in_dims=(0, 0))(xt), "not compatible")
    _both_raise(ValueError, lambda: ge.vmap(lambda a: a, in_dims=2)(x),
                lambda: torch.vmap(lambda a: a, in_dims=2)(xt), "dimensionality 2")
    _both_raise(ValueError, lambda: ge.vmap(lambda a: a, in_dims=[0])(x),
                lambda: torch.vmap(lambda a: a, in_dims=[0])(xt), "in_dims")
    _both_raise(ValueError, lambda: ge.vmap(lambda a: a, in_dims=None)(x),
                lambda: torch.vmap(lambda a: a, in_dims=None)(xt))
    _both_raise(ValueError, lambda: ge.vmap(lambda a: a)(),
                lambda: torch.vmap(lambda a: a)(), "no inputs")
    _both_raise(ValueError, lambda: ge.vmap(lambda a, n: a * n)(x, 2),
                lambda: torch.vmap(lambda a, n: a * n)(xt, 2), "non-Tensor")
    _both_raise(ValueError, lambda: ge.vmap(lambda a: 1.0)(x),
                lambda: torch.vmap(lambda a: 1.0)(xt), "must only return Tensors")
    _both_raise(ValueError, lambda: ge.vmap(lambda a: (a, a), out_dims=(0, 0, 0))(x),
                lambda: torch.vmap(lambda a: (a, a), out_dims=(0, 0, 0))(xt), "out_dims")


def test_the_module_is_importable_both_ways():
    import importlib
    assert importlib.import_module("gradengine.func") is ge.func
    assert ge.vmap is gf.vmap and ge.func.grad is gf.grad
    assert gf.functionalize(len) is len


def test_ge_jit_replays_a_functional_training_step_as_eager():
    model, _ = _mlps(2)
    (x, _), (y, _) = _pair(8, 3, seed=41), _pair(8, 2, seed=42)

    def step(p, xb, yb):
        g = gf.grad(lambda q: ge.mse_loss(gf.functional_call(model, q, (xb,)), yb))(p)
        jac = gf.jacrev(lambda q: gf.functional_call(model, q, (xb[:1],)).sum())(p)
        return {k: v - 0.1 * g[k] + 0.01 * jac[k] for k, v in p.items()}

    eager = {k: v.detach() for k, v in model.named_parameters()}
    replayed = dict(eager)
    jitted = ge.jit(step)
    for _ in range(3):
        eager, replayed = step(eager, x, y), jitted(replayed, x, y)
    for k in eager:
        np.testing.assert_array_equal(eager[k].numpy(), replayed[k].numpy())


def test_transforms_run_on_every_device_with_the_cpu_s_values(device):
    a = np.random.default_rng(43).standard_normal((4, 3))
    x = ge.tensor(a, dtype="float64", device=device)
    xt = torch.tensor(a)

    def f(r):
        return (r.sin() * r.exp()).sum()

    ours = (gf.grad(f)(x), gf.hessian(f)(x[0]), ge.vmap(gf.grad(f))(x),
            gf.jvp(lambda r: r.tanh(), (x,), (x,)), gf.jacrev(lambda r: r * r.sum())(x[1]))
    theirs = (tf.grad(f)(xt), tf.hessian(f)(xt[0]), torch.vmap(tf.grad(f))(xt),
              tf.jvp(lambda r: r.tanh(), (xt,), (xt,)), tf.jacrev(lambda r: r * r.sum())(xt[1]))
    for o in tree_leaves(ours):
        assert o.device == x.device
    _close(tuple(tree_map(lambda t: t.cpu(), ours)), theirs)
    model, tmodel = _mlps(3)
    model.to(device)
    params = {k: v.detach() for k, v in model.named_parameters()}
    g = gf.grad(lambda p: gf.functional_call(model, p, (x,)).sum())(params)
    gt = tf.grad(lambda p: tf.functional_call(tmodel, p, (xt,)).sum())(
        {k: v.detach() for k, v in tmodel.named_parameters()})
    for k in g:
        assert g[k].device == x.device
        np.testing.assert_allclose(_t(k, g[k].cpu().numpy()), gt[k].numpy(), atol=1e-12)
