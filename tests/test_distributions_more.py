"""ge.distributions against torch.distributions on the same float64 parameters: log_prob,
entropy, mean / mode / variance / stddev, cdf / icdf, their gradients, KL divergences,
expand, argument and support checks; rsample's pathwise gradients against torch's at the
same draw (the same quantile, the same noise, or torch's gamma gradient at the same
sample); sample shapes and statistics (moments of many draws)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradengine as ge

GD, TD = ge.distributions, torch.distributions
R = np.random.default_rng(0)


def _pos(*shape, lo=0.5, hi=2.5):
    return R.uniform(lo, hi, shape)


def _spd(n, batch=()):
    a = R.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _tril(n, batch=()):
    t = np.tril(R.standard_normal(batch + (n, n)) * 0.5)
    d = np.arange(n)
    t[..., d, d] = _pos(*batch, n)
    return t


LOC, SCALE = R.standard_normal((2, 3)), _pos(2, 3)
PROBS = R.dirichlet(np.ones(4), size=2)

# name, builder(lib, *params), params, value (a point of the support, batch-broadcast)
CASES = [
    ("Normal", lambda D, a, b: D.Normal(a, b), (LOC, SCALE), R.standard_normal((2, 3))),
    ("Uniform", lambda D, a, b: D.Uniform(a, a + b), (LOC, SCALE), LOC + 0.3 * SCALE),
    ("Exponential", lambda D, r: D.Exponential(r), (SCALE,), _pos(2, 3)),
    ("Laplace", lambda D, a, b: D.Laplace(a, b), (LOC, SCALE), R.standard_normal((2, 3))),
    ("Cauchy", lambda D, a, b: D.Cauchy(a, b), (LOC, SCALE), R.standard_normal((2, 3))),
    ("StudentT", lambda D, df, a, b: D.StudentT(df, a, b), (_pos(2, 3, lo=0.7, hi=5), LOC,
                                                             SCALE), R.standard_normal((2, 3))),
    ("Gamma", lambda D, a, b: D.Gamma(a, b), (_pos(2, 3), SCALE), _pos(2, 3)),
    ("Chi2", lambda D, df: D.Chi2(df), (_pos(2, 3, lo=1, hi=4),), _pos(2, 3)),
    ("Beta", lambda D, a, b: D.Beta(a, b), (_pos(2, 3), _pos(2, 3)), R.uniform(0.1, 0.9, (2, 3))),
    ("Dirichlet", lambda D, c: D.Dirichlet(c), (_pos(2, 4),), R.dirichlet(np.ones(4), 2)),
    ("MVN_cov", lambda D, m, c: D.MultivariateNormal(m, covariance_matrix=c),
     (LOC, _spd(3, (2,))), R.standard_normal((2, 3))),
    ("MVN_prec", lambda D, m, p: D.MultivariateNormal(m, precision_matrix=p),
     (LOC, _spd(3)), R.standard_normal((4, 2, 3))),
    ("MVN_tril", lambda D, m, t: D.MultivariateNormal(m, scale_tril=t),
     (R.standard_normal(3), _tril(3, (2,))), R.standard_normal((2, 3))),
    ("LogNormal", lambda D, a, b: D.LogNormal(a, b), (LOC, SCALE), _pos(2, 3)),
    ("HalfNormal", lambda D, s: D.HalfNormal(s), (SCALE,), _pos(2, 3)),
    ("Bernoulli", lambda D, p: D.Bernoulli(probs=p), (R.uniform(0.1, 0.9, (2, 3)),),
     np.float64([[0, 1, 1], [1, 0, 0]])),
    ("Bernoulli_logits", lambda D, lg: D.Bernoulli(logits=lg), (LOC,),
     np.float64([[0, 1, 1], [1, 0, 0]])),
    ("Categorical", lambda D, p: D.Categorical(probs=p), (PROBS,), np.int64([3, 0])),
    ("Categorical_logits", lambda D, lg: D.Categorical(logits=lg),
     (R.standard_normal((2, 4)),), np.int64([[1, 2], [0, 3]])),
    ("OneHotCategorical", lambda D, p: D.OneHotCategorical(probs=p), (PROBS,),
     np.eye(4)[[1, 3]]),
    ("Poisson", lambda D, r: D.Poisson(r), (_pos(2, 3, hi=6),), np.float64([[0, 1, 4],
                                                                          [2, 7, 3]])),
    ("Binomial", lambda D, p: D.Binomial(5, probs=p), (R.uniform(0.1, 0.9, (2, 3)),),
     np.float64([[0, 1, 5], [2, 4, 3]])),
    ("Binomial_counts", lambda D, n, lg: D.Binomial(n, logits=lg),
     (np.float64([[3, 6, 9]]), LOC), np.float64([[0, 1, 5], [2, 6, 9]])),
    ("Geometric", lambda D, p: D.Geometric(probs=p), (R.uniform(0.1, 0.9, (2, 3)),),
     np.float64([[0, 1, 5], [2, 0, 3]])),
    ("Geometric_logits", lambda D, lg: D.Geometric(logits=lg), (LOC,),
     np.float64([[0, 1, 5], [2, 0, 3]])),
    ("Multinomial", lambda D, p: D.Multinomial(6, probs=p), (PROBS,),
     np.float64([[1, 2, 3, 0], [0, 0, 6, 0]])),
    ("Independent", lambda D, a, b: D.Independent(D.Normal(a, b), 1), (LOC, SCALE),
     R.standard_normal((2, 3))),
    ("MixtureSameFamily", lambda D, p, a, b: D.MixtureSameFamily(
        D.Categorical(probs=p), D.Normal(a, b)), (R.dirichlet(np.ones(3), 2), LOC, SCALE),
     R.standard_normal((5, 2))),
    ("Mixture_MVN", lambda D, p, m, t: D.MixtureSameFamily(
        D.Categorical(probs=p), D.MultivariateNormal(m, scale_tril=t)),
     (R.dirichlet(np.ones(2)), R.standard_normal((2, 3)), _tril(3, (2,))),
     R.standard_normal((4, 3))),
    ("Transformed_affine_sigmoid", lambda D, a, b: D.TransformedDistribution(
        D.Normal(a, b), [D.transforms.AffineTransform(0.5, 2.0), D.transforms.SigmoidTransform()]),
     (LOC, SCALE), R.uniform(0.1, 0.9, (2, 3))),
    ("Transformed_tanh", lambda D, a, b: D.TransformedDistribution(
        D.Normal(a, b), D.transforms.TanhTransform()), (LOC, SCALE),
     R.uniform(-0.9, 0.9, (2, 3))),
    ("Transformed_affine_broadcast", lambda D, a, b, m: D.TransformedDistribution(
        D.Normal(a, b), D.transforms.AffineTransform(m, 2.0)),
     (R.standard_normal(3), _pos(3), R.standard_normal((2, 1))), R.standard_normal((2, 3))),
    ("Transformed_exp_negscale", lambda D, a, b: D.TransformedDistribution(
        D.Normal(a, b), [D.transforms.ExpTransform(), D.transforms.AffineTransform(1.0, -3.0)]),
     (LOC, SCALE), -_pos(2, 3)),
]


def _pair(build, params):
    ours = [ge.tensor(p, requires_grad=p.dtype.kind == "f") for p in params]
    theirs = [torch.tensor(p, requires_grad=p.dtype.kind == "f") for p in params]
    return build(GD, *ours), build(TD, *theirs), ours, theirs


def _torch_or_none(fn):
    try:
        return fn()
    except NotImplementedError:
        return None


def _close(a, b, rtol=1e-9, atol=1e-11):
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    a = a.detach().numpy() if isinstance(a, ge.Tensor) else np.asarray(a)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=rtol,
                               atol=atol, equal_nan=True)


@pytest.mark.parametrize("name, build, params, value", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_match_torch(name, build, params, value):
    d, t, ours, theirs = _pair(build, params)
    assert d.batch_shape == tuple(t.batch_shape) and d.event_shape == tuple(t.event_shape)
    assert d.has_rsample == t.has_rsample
    loss_o, loss_t = 0.0, 0.0
    lp, tlp = d.log_prob(ge.tensor(value)), t.log_prob(torch.tensor(value))
    _close(lp, tlp)
    loss_o, loss_t = loss_o + lp.sum(), loss_t + tlp.sum()
    tent = _torch_or_none(t.entropy)
    if tent is not None:
        ent = d.entropy()
        # torch's Multinomial.entropy takes lgamma(total_count + 1) in float32
        _close(ent, tent, atol=1e-6 if name == "Multinomial" else 1e-11)
        loss_o, loss_t = loss_o + ent.sum(), loss_t + tent.sum()
    for attr in ("mean", "mode", "variance", "stddev"):
        want = _torch_or_none(lambda attr=attr: getattr(t, attr))
        if want is not None:
            got = getattr(d, attr)
            _close(got, want)
            if want.requires_grad and np.all(np.isfinite(want.detach().numpy())):
                loss_o, loss_t = loss_o + got.sum(), loss_t + want.sum()
    tcdf = _torch_or_none(lambda: t.cdf(torch.tensor(value)))
    if tcdf is not None:
        cdf = d.cdf(ge.tensor(value))
        _close(cdf, tcdf)
        if name not in ("Gamma", "Chi2"):  # torch's gammainc has no gradient in a
            loss_o, loss_t = loss_o + cdf.sum(), loss_t + tcdf.sum()
    q = R.uniform(0.05, 0.95, t.batch_shape)
    ticdf = _torch_or_none(lambda: t.icdf(torch.tensor(q)))
    if ticdf is not None:
        icdf = d.icdf(ge.tensor(q))
        _close(icdf, ticdf, rtol=1e-8)
        loss_o, loss_t = loss_o + icdf.sum(), loss_t + ticdf.sum()
    loss_o.backward()
    loss_t.backward()
    for a, b in zip(ours, theirs):
        if b.requires_grad:
            _close(a.grad, b.grad, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("name, build, params, value", CASES, ids=[c[0] for c in CASES])
def test_expand_and_sample_shapes_match_torch(name, build, params, value):
    d, t, _, _ = _pair(build, params)
    new = (4,) + tuple(t.batch_shape)
    de, te = d.expand(new), t.expand(new)
    assert de.batch_shape == tuple(te.batch_shape) and de.event_shape == tuple(te.event_shape)
    one = value.reshape((-1,) + tuple(t.batch_shape + t.event_shape))[0]  # no sample axes
    _close(de.log_prob(ge.tensor(one)), te.log_prob(torch.tensor(one)))
    ge.manual_seed(3)
    s = d.sample((5,))
    assert s.shape == tuple(t.sample((5,)).shape) and not s.requires_grad
    assert de.sample().shape == tuple(te.sample().shape)
    ge.manual_seed(3)
    np.testing.assert_array_equal(d.sample((5,)).numpy(), s.numpy())  # seeded
    assert s.dtype.kind == ("i" if name.startswith("Categorical") else "f")
    if name not in ("Categorical", "Categorical_logits"):  # torch keeps int64 labels
        assert s.dtype.name == str(t.sample().dtype).removeprefix("torch.")
    if d.has_rsample:
        r = d.rsample((2, 3))
        assert r.shape == (2, 3) + tuple(t.batch_shape + t.event_shape)


# distributions whose draws have a finite variance: moments of 20,000 draws against torch's
MOMENTS = ["Normal", "Uniform", "Exponential", "Laplace", "Gamma", "Chi2", "Beta", "Dirichlet",
           "MVN_cov", "MVN_tril", "LogNormal", "HalfNormal", "Bernoulli", "OneHotCategorical",
           "Poisson", "Binomial", "Binomial_counts", "Geometric", "Multinomial", "Independent",
           "MixtureSameFamily", "Mixture_MVN"]


@pytest.mark.parametrize("name", MOMENTS)
def test_sample_moments_match_torchs_mean_and_variance(name):
    _, build, params, _ = next(c for c in CASES if c[0] == name)
    d, t, _, _ = _pair(build, params)
    ge.manual_seed(0)
    n = 20000
    s = d.sample((n,)).numpy().astype(np.float64)
    mean, var = t.mean.detach().numpy(), t.variance.detach().numpy()
    sd = np.sqrt(var)
    assert np.all(np.abs(s.mean(0) - mean) < 5 * sd / np.sqrt(n) + 1e-9), name
    kurt_bound = 10 * var * np.sqrt(8.0 / n) + 1e-9  # generous for skewed families
    if name != "LogNormal":  # its sample variance converges too slowly to test
        assert np.all(np.abs(s.var(0) - var) < kurt_bound), name


def test_student_t_and_cauchy_draws_have_torchs_quantiles():
    ge.manual_seed(1)
    for name in ("StudentT", "Cauchy"):
        _, build, params, _ = next(c for c in CASES if c[0] == name)
        d, t, _, _ = _pair(build, params)
        s = d.sample((20000,)).numpy()
        if name == "Cauchy":
            med = t.icdf(torch.tensor(0.5)).detach().numpy()
        else:
            med = t.loc.detach().numpy()
        emp = np.median(s, 0)
        np.testing.assert_allclose(emp, med, atol=0.1 * float(np.max(t.scale.detach().numpy())))
        frac = (t.cdf(torch.tensor(s)).detach().numpy() < 0.25).mean(0) if name == "Cauchy" \
            else None
        if frac is not None:
            np.testing.assert_allclose(frac, 0.25, atol=0.02)


# ---------------------------------------------------------------- rsample gradients

@pytest.mark.parametrize("name", ["Normal", "Uniform", "Exponential", "Laplace", "Cauchy",
                                  "LogNormal", "HalfNormal"])
def test_rsample_gradients_equal_torchs_at_the_same_quantile(name):
    # a reparameterised draw is icdf(u; params) for a fixed u: torch's icdf at our draw's
    # quantile gives the same sample and, by autograd, the same pathwise gradient
    _, build, params, _ = next(c for c in CASES if c[0] == name)
    d, t, ours, theirs = _pair(build, params)
    ge.manual_seed(5)
    x = d.rsample((7,))
    (x * x).sum().backward() if name != "Cauchy" else F_atan_sum(x).backward()
    u = t.cdf(torch.tensor(x.detach().numpy())).detach()
    xt = t.icdf(u)
    _close(x, xt, rtol=1e-7, atol=1e-9)
    ((xt * xt).sum() if name != "Cauchy" else torch.atan(xt).sum()).backward()
    for a, b in zip(ours, theirs):
        _close(a.grad, b.grad, rtol=1e-6, atol=1e-8)


def F_atan_sum(x):  # noqa: N802 - a bounded loss for the heavy-tailed Cauchy
    return ge.functional.atan(x).sum()


def test_gamma_rsample_gradient_is_torchs_implicit_reparameterisation():
    conc = np.float64([0.2, 0.7, 1.5, 5.0, 12.0, 40.0])
    rate = np.float64([1.0, 2.0, 0.5, 1.5, 3.0, 0.7])
    a, r = ge.tensor(conc, requires_grad=True), ge.tensor(rate, requires_grad=True)
    ge.manual_seed(2)
    x = GD.Gamma(a, r).rsample((300,))
    x.sum().backward()
    xs = torch.tensor(x.detach().numpy() * rate)  # the standard gamma draws
    dxda = torch._standard_gamma_grad(torch.tensor(conc).expand_as(xs), xs) / torch.tensor(rate)
    _close(a.grad, dxda.sum(0), rtol=1e-9)
    _close(r.grad, -(xs / torch.tensor(rate) ** 2).sum(0), rtol=1e-9)
    with pytest.raises(RuntimeError, match="once"):  # torch: not twice differentiable
        a2 = ge.tensor(conc, requires_grad=True)
        g, = ge.grad(GD.Gamma(a2, 1.0).rsample().sum(), [a2], create_graph=True)
        g.sum().backward()


def test_dirichlet_and_beta_rsample_gradients_are_torchs_at_the_same_draw():
    conc = np.float64([[0.3, 1.0, 4.0], [7.0, 9.0, 12.0]])
    c = ge.tensor(conc, requires_grad=True)
    ge.manual_seed(3)
    x = GD.Dirichlet(c).rsample((50,))
    w = ge.tensor(R.standard_normal((50, 2, 3)))
    (x * w).sum().backward()
    xt = torch.tensor(x.detach().numpy())
    ct = torch.tensor(conc).expand_as(xt)
    grad = torch._dirichlet_grad(xt, ct, ct.sum(-1, True).expand_as(xt))
    wt = torch.tensor(w.numpy())
    _close(c.grad, (grad * (wt - (xt * wt).sum(-1, True))).sum(0), rtol=1e-9, atol=1e-12)
    a = ge.tensor(np.float64([0.5, 3.0]), requires_grad=True)
    b = ge.tensor(np.float64([2.0, 8.0]), requires_grad=True)
    ge.manual_seed(3)
    s = GD.Beta(a, b).rsample((40,))
    s.sum().backward()
    st = torch.tensor(s.detach().numpy())
    both = torch.stack([st, 1 - st], -1)
    cb = torch.tensor(np.stack([a.detach().numpy(), b.detach().numpy()], -1)).expand_as(both)
    g = torch._dirichlet_grad(both, cb, cb.sum(-1, True).expand_as(both))
    go = torch.zeros_like(both)
    go[..., 0] = 1
    full = g * (go - (both * go).sum(-1, True))
    _close(a.grad, full[..., 0].sum(0), rtol=1e-9)
    _close(b.grad, full[..., 1].sum(0), rtol=1e-9)
    with pytest.raises(RuntimeError, match="once"):
        g1, = ge.grad((GD.Dirichlet(c).rsample() ** 2).sum(), [c], create_graph=True)
        g1.sum().backward()


@pytest.mark.parametrize("name", ["Beta", "Dirichlet", "Chi2", "StudentT"])
def test_gamma_family_rsample_gradients_are_unbiased(name):
    # d/dparams E[f(x)] by the mean of the pathwise gradients, against torch's exact
    # derivative of the closed form (E[x] for Beta / Dirichlet / Chi2, E[x^2] for StudentT)
    params = {"Beta": (np.float64([0.8, 3.0]), np.float64([2.0, 1.5])),
              "Dirichlet": (np.float64([[0.7, 2.0, 4.0]]),),
              "Chi2": (np.float64([1.5, 6.0]),),
              "StudentT": (np.float64([9.0, 12.0]), np.float64([0.5, -1.0]),
                           np.float64([1.0, 2.0]))}[name]
    build = {"Beta": lambda D, a, b: D.Beta(a, b), "Dirichlet": lambda D, c: D.Dirichlet(c),
             "Chi2": lambda D, df: D.Chi2(df),
             "StudentT": lambda D, df, m, s: D.StudentT(df, m, s)}[name]
    d, t, ours, theirs = _pair(build, params)
    ge.manual_seed(4)
    n = 40000
    x = d.rsample((n,))
    if name == "StudentT":
        ((x * x).sum() / n).backward()
        (t.variance + t.mean ** 2).sum().backward()
    else:
        w = np.arange(1, x.shape[-1] + 1, dtype=np.float64)
        ((x * ge.tensor(w)).sum() / n).backward()
        (t.mean * torch.tensor(w)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=0.08, atol=0.02)


def test_mvn_rsample_gradient_flows_through_the_cholesky_as_torch():
    loc, cov = R.standard_normal((2, 3)), _spd(3, (2,))
    m, c = ge.tensor(loc, requires_grad=True), ge.tensor(cov, requires_grad=True)
    ge.manual_seed(6)
    d = GD.MultivariateNormal(m, covariance_matrix=c)
    x = d.rsample((4,))
    (x ** 3).sum().backward()
    lt = torch.linalg.cholesky(torch.tensor(cov))
    eps = torch.linalg.solve_triangular(lt, torch.tensor(x.detach().numpy() - loc).unsqueeze(
        -1), upper=False)
    mt, ct = torch.tensor(loc, requires_grad=True), torch.tensor(cov, requires_grad=True)
    xt = mt + (torch.linalg.cholesky(ct) @ eps).squeeze(-1)
    _close(x, xt, rtol=1e-9)
    (xt ** 3).sum().backward()
    _close(m.grad, mt.grad, rtol=1e-8)
    _close(c.grad, ct.grad, rtol=1e-7, atol=1e-9)


def test_mvn_matrices_agree_with_torch_whichever_is_given():
    loc, cov = R.standard_normal(3), _spd(3, (2,))
    for kw in ("covariance_matrix", "precision_matrix", "scale_tril"):
        mat = {"covariance_matrix": cov, "precision_matrix": np.linalg.inv(cov),
               "scale_tril": np.linalg.cholesky(cov)}[kw]
        d = GD.MultivariateNormal(ge.tensor(loc), **{kw: ge.tensor(mat)})
        t = TD.MultivariateNormal(torch.tensor(loc), **{kw: torch.tensor(mat)})
        for attr in ("covariance_matrix", "precision_matrix", "scale_tril", "mean",
                     "variance"):
            _close(getattr(d, attr), getattr(t, attr), rtol=1e-8, atol=1e-10)
        _close(d.entropy(), t.entropy())


def test_log_prob_is_twice_differentiable():
    a = ge.tensor(np.float64([0.7, 2.0]), requires_grad=True)
    b = ge.tensor(np.float64([1.5, 0.4]), requires_grad=True)
    x = ge.tensor(np.float64([0.3, 0.8]))
    assert ge.gradcheck(lambda a, b: GD.Beta(a, b).log_prob(x), (a, b))
    assert ge.gradgradcheck(lambda a, b: GD.Beta(a, b).log_prob(x), (a, b))
    lt = ge.tensor(_tril(2), requires_grad=True)
    v = ge.tensor(R.standard_normal((3, 2)))
    assert ge.gradcheck(lambda lt: GD.MultivariateNormal(
        ge.zeros(2, dtype="float64"), scale_tril=ge.tril(lt)).log_prob(v), (lt,))


# ---------------------------------------------------------------- KL divergence

KL_CASES = [
    ("Normal", lambda D, a, b: D.Normal(a, b), (LOC, SCALE), (-LOC, SCALE[::-1].copy())),
    ("MVN_cov", lambda D, m, c: D.MultivariateNormal(m, covariance_matrix=c),
     (LOC, _spd(3, (2,))), (R.standard_normal(3), _spd(3))),
    ("MVN_tril", lambda D, m, t: D.MultivariateNormal(m, scale_tril=t),
     (R.standard_normal(3), _tril(3)), (LOC, _tril(3, (2,)))),
    ("Beta", lambda D, a, b: D.Beta(a, b), (_pos(2, 3), _pos(2, 3)), (_pos(2, 3), _pos(2, 3))),
    ("Gamma", lambda D, a, b: D.Gamma(a, b), (_pos(2, 3), _pos(2, 3)), (_pos(2, 3), _pos(2, 3))),
    ("Chi2", lambda D, df: D.Chi2(df), (_pos(3),), (_pos(3),)),
    ("Dirichlet", lambda D, c: D.Dirichlet(c), (_pos(2, 4),), (_pos(2, 4),)),
    ("Exponential", lambda D, r: D.Exponential(r), (_pos(3),), (_pos(3),)),
    ("Laplace", lambda D, a, b: D.Laplace(a, b), (LOC, SCALE), (-LOC, SCALE[::-1].copy())),
    ("Poisson", lambda D, r: D.Poisson(r), (_pos(3),), (_pos(3),)),
    ("Uniform", lambda D, a, b: D.Uniform(a, b), (np.float64([0.0, 0.0]), np.float64([1., 1.])),
     (np.float64([-1.0, 0.5]), np.float64([2.0, 3.0]))),
    ("Cauchy", lambda D, a, b: D.Cauchy(a, b), (LOC, SCALE), (-LOC, SCALE[::-1].copy())),
    ("Geometric", lambda D, p: D.Geometric(p), (R.uniform(0.1, 0.9, 3),),
     (R.uniform(0.1, 0.9, 3),)),
    ("Binomial", lambda D, p: D.Binomial(4, p), (R.uniform(0.1, 0.9, 3),),
     (R.uniform(0.1, 0.9, 3),)),
    ("Bernoulli", lambda D, p: D.Bernoulli(p), (R.uniform(0.1, 0.9, 3),),
     (R.uniform(0.1, 0.9, 3),)),
    ("Categorical", lambda D, p: D.Categorical(p), (PROBS,), (PROBS[::-1].copy(),)),
    ("OneHotCategorical", lambda D, p: D.OneHotCategorical(p), (PROBS,), (PROBS[::-1].copy(),)),
    ("HalfNormal", lambda D, s: D.HalfNormal(s), (_pos(3),), (_pos(3),)),
    ("LogNormal", lambda D, a, b: D.LogNormal(a, b), (LOC, SCALE), (-LOC, SCALE)),
    ("Independent", lambda D, a, b: D.Independent(D.Normal(a, b), 1), (LOC, SCALE),
     (-LOC, SCALE)),
]


@pytest.mark.parametrize("name, build, pa, qa", KL_CASES, ids=[c[0] for c in KL_CASES])
def test_kl_divergence_and_its_gradient_match_torch(name, build, pa, qa):
    p, tp, po, pt = _pair(build, pa)
    q, tq, qo, qt = _pair(build, qa)
    kl, tkl = GD.kl_divergence(p, q), TD.kl_divergence(tp, tq)
    _close(kl, tkl, rtol=1e-8, atol=1e-10)
    finite = np.isfinite(tkl.detach().numpy())
    if tkl.requires_grad and finite.all():
        kl.sum().backward()
        tkl.sum().backward()
        for a, b in zip(po + qo, pt + qt):
            if b.requires_grad:
                _close(a.grad, b.grad, rtol=1e-7, atol=1e-10)


def test_kl_of_uniforms_is_inf_where_q_misses_p_and_unknown_pairs_raise():
    p = GD.Uniform(ge.tensor([0.0, 0.0]), ge.tensor([1.0, 1.0]))
    q = GD.Uniform(ge.tensor([0.5, -1.0]), ge.tensor([2.0, 2.0]))
    assert np.isinf(GD.kl_divergence(p, q).numpy()[0])
    with pytest.raises(NotImplementedError):
        GD.kl_divergence(GD.Gamma(1.0, 1.0), GD.Poisson(1.0))
    with pytest.raises(NotImplementedError):
        TD.kl_divergence(TD.Gamma(1.0, 1.0), TD.Poisson(1.0))


# ---------------------------------------------------------------- checks, as torch

BAD = [
    lambda D, T: D.Gamma(T([1.0, -1.0]), T([1.0, 1.0])),
    lambda D, T: D.Beta(T([0.0]), T([1.0])),
    lambda D, T: D.Dirichlet(T([1.0, -2.0])),
    lambda D, T: D.Dirichlet(T(1.0)),
    lambda D, T: D.Poisson(T([-1.0])),
    lambda D, T: D.Binomial(3, probs=T([1.5])),
    lambda D, T: D.Binomial(T([2.5]), probs=T([0.5])),
    lambda D, T: D.Geometric(probs=T([1.2])),
    lambda D, T: D.StudentT(T([-1.0])),
    lambda D, T: D.Chi2(T([0.0])),
    lambda D, T: D.Laplace(T([0.0]), T([-1.0])),
    lambda D, T: D.Uniform(T([1.0]), T([0.0])),
    lambda D, T: D.Exponential(T([0.0])),
    lambda D, T: D.Categorical(probs=T([[0.5, -0.1]])),
    lambda D, T: D.Multinomial(3, probs=T([0.5, 0.5])).log_prob(T([3.0, 2.0])),
    lambda D, T: D.Categorical(probs=T([0.5, 0.5])).log_prob(torch.tensor(2) if D is TD
                                                               else ge.tensor(2)),
    lambda D, T: D.Cauchy(T([0.0]), T([0.0])),
    lambda D, T: D.HalfNormal(T([-1.0])),
    lambda D, T: D.LogNormal(T([0.0]), T([-1.0])),
    lambda D, T: D.MultivariateNormal(T([0.0, 0.0]), covariance_matrix=T([[1.0, 2.0],
                                                                          [2.0, 1.0]])),
    lambda D, T: D.MultivariateNormal(T([0.0, 0.0]), scale_tril=T([[1.0, 1.0], [0.0, 1.0]])),
    lambda D, T: D.MultivariateNormal(T([0.0, 0.0]), covariance_matrix=T([[1.0, 0.0],
                                                                          [0.0, 1.0]]),
                                      scale_tril=T([[1.0, 0.0], [0.0, 1.0]])),
    lambda D, T: D.MultivariateNormal(T(0.0), covariance_matrix=T([[1.0]])),
    lambda D, T: D.Gamma(T([1.0]), T([1.0])).log_prob(T([-1.0])),
    lambda D, T: D.Beta(T([1.0]), T([1.0])).log_prob(T([1.5])),
    lambda D, T: D.Poisson(T([1.0])).log_prob(T([0.5])),
    lambda D, T: D.Binomial(3, probs=T([0.5])).log_prob(T([4.0])),
    lambda D, T: D.Dirichlet(T([1.0, 1.0])).log_prob(T([0.5, 0.6])),
    lambda D, T: D.Exponential(T([1.0])).log_prob(T([-0.5])),
    lambda D, T: D.HalfNormal(T([1.0])).log_prob(T([-0.5])),
]


@pytest.mark.parametrize("i", range(len(BAD)))
def test_bad_parameters_and_values_raise_value_error_as_torch(i):
    with pytest.raises(ValueError):
        BAD[i](TD, lambda v: torch.tensor(v, dtype=torch.float64))
    with pytest.raises(ValueError):
        BAD[i](GD, lambda v: ge.tensor(v, dtype="float64"))


def test_validate_args_false_skips_the_checks_as_torch():
    d = GD.Gamma(ge.tensor([1.0]), ge.tensor([1.0]), validate_args=False)
    t = TD.Gamma(torch.tensor([1.0]), torch.tensor([1.0]), validate_args=False)
    _close(d.log_prob(ge.tensor([-1.0])), t.log_prob(torch.tensor([-1.0])))
    GD.Poisson(ge.tensor([-1.0]), validate_args=False)
    with pytest.raises(NotImplementedError):  # as torch: an int total_count only
        GD.Multinomial(ge.tensor([2.0]), probs=ge.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="exactly one"):
        GD.Geometric()


def test_arg_constraints_and_support_have_torchs_meaning():
    c = GD.constraints
    assert c.positive.check(ge.tensor([1.0, 0.0])).tolist() == [True, False]
    assert c.simplex.check(ge.tensor([[0.5, 0.5], [0.5, 0.6]])).tolist() == [True, False]
    assert c.lower_cholesky.check(ge.tensor([[1.0, 0.0], [1.0, 2.0]])).item()
    assert c.positive_definite.check(ge.tensor([[2.0, 1.0], [1.0, 2.0]])).item()
    assert not c.positive_definite.check(ge.tensor([[1.0, 2.0], [2.0, 1.0]])).item()
    assert set(GD.Gamma.arg_constraints) == set(TD.Gamma.arg_constraints)
    assert set(GD.MultivariateNormal.arg_constraints) == set(
        TD.MultivariateNormal.arg_constraints)
    for name in ("Normal", "Gamma", "Beta", "Poisson", "Exponential", "Dirichlet",
                 "MultivariateNormal", "Cauchy", "StudentT", "HalfNormal", "LogNormal"):
        assert repr(getattr(GD, name).support) == repr(getattr(TD, name).support), name


def test_transforms_invert_and_their_jacobians_match_torch():
    x = R.standard_normal((2, 3))
    pairs = [(GD.transforms.ExpTransform(), TD.transforms.ExpTransform()),
             (GD.transforms.SigmoidTransform(), TD.transforms.SigmoidTransform()),
             (GD.transforms.TanhTransform(), TD.transforms.TanhTransform()),
             (GD.transforms.AffineTransform(1.0, -2.0), TD.transforms.AffineTransform(1.0, -2.0)),
             (GD.transforms.AffineTransform(ge.tensor([1.0, 2.0, 3.0], dtype="float64"),
                                            ge.tensor([0.5, 2.0, 3.0], dtype="float64"),
                                            event_dim=1),
              TD.transforms.AffineTransform(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64),
                                            torch.tensor([0.5, 2.0, 3.0], dtype=torch.float64),
                                            event_dim=1))]
    for ours, theirs in pairs:
        y, ty = ours(ge.tensor(x)), theirs(torch.tensor(x))
        _close(y, ty)
        _close(ours.inv(y), theirs.inv(ty), rtol=1e-7)
        _close(ours.log_abs_det_jacobian(ge.tensor(x), y),
               theirs.log_abs_det_jacobian(torch.tensor(x), ty))
        assert ours.event_dim == theirs.event_dim


def test_the_families_run_on_every_device(device):
    # parameters on the device: sampling (the gamma, Poisson and binomial draws included),
    # log_prob, cdf and rsample's gradient stay there and equal the CPU's values
    conc = np.float64([0.6, 2.0, 7.0])
    cases = [
        (lambda a: GD.Gamma(a, 2.0), lambda x: x),
        (lambda a: GD.Beta(a, a[::-1] + 0.1), lambda x: x / 8),
        (lambda a: GD.Dirichlet(a), lambda x: x / x.sum()),
        (lambda a: GD.StudentT(a), lambda x: x - 1),
        (lambda a: GD.Poisson(a), lambda x: ge.functional.floor(x)),
        (lambda a: GD.MultivariateNormal(a, covariance_matrix=ge.functional.diag_embed(a)),
         lambda x: x - 2),
    ]
    for build, point in cases:
        a = ge.tensor(conc, device=device, requires_grad=True)
        d = build(a)
        ge.manual_seed(0)
        s = d.sample((4,))
        assert s.device == a.device and s.shape == (4,) + d.batch_shape + d.event_shape
        v = point(ge.tensor(conc, device=device))
        lp = d.log_prob(v)
        cpu = build(ge.tensor(conc)).log_prob(point(ge.tensor(conc)))
        np.testing.assert_allclose(lp.numpy(), cpu.numpy(), rtol=1e-12)
        if d.has_rsample:
            d.rsample((3,)).sum().backward()
            assert a.grad.device == a.device and np.all(np.isfinite(a.grad.numpy()))
    g = GD.Gamma(ge.tensor(conc, device=device), 1.5)
    np.testing.assert_allclose(g.cdf(ge.tensor([0.5, 1.0, 3.0], device=device)).numpy(),
                               torch.special.gammainc(torch.tensor(conc), torch.tensor(
                                   [0.75, 1.5, 4.5])).numpy(), rtol=1e-9)


CROSS = [  # (p, q) across families: torch's registrations, finite and infinite
    lambda D, T: (D.Bernoulli(T([0.3, 0.8])), D.Poisson(T([0.5, 2.0]))),
    lambda D, T: (D.Beta(T([0.7, 2.0]), T([1.5, 3.0])), D.Exponential(T([0.5, 2.0]))),
    lambda D, T: (D.Beta(T([0.7, 2.0]), T([1.5, 3.0])), D.Gamma(T([2.0, 0.6]), T([1.0, 3.0]))),
    lambda D, T: (D.Beta(T([0.7, 2.0]), T([1.5, 3.0])), D.Normal(T([0.1, -1.0]), T([0.5, 2.0]))),
    lambda D, T: (D.Beta(T([0.7, 2.0]), T([1.5, 3.0])), D.Uniform(T([-0.5, 0.2]), T([1.5, 1.0]))),
    lambda D, T: (D.Exponential(T([0.7, 2.0])), D.Gamma(T([2.0, 0.6]), T([1.0, 3.0]))),
    lambda D, T: (D.Exponential(T([0.7, 2.0])), D.Normal(T([0.1, -1.0]), T([0.5, 2.0]))),
    lambda D, T: (D.Exponential(T([0.7, 2.0])), D.Beta(T([0.7, 2.0]), T([1.5, 3.0]))),
    lambda D, T: (D.Gamma(T([2.0, 0.6]), T([1.0, 3.0])), D.Exponential(T([0.7, 2.0]))),
    lambda D, T: (D.Gamma(T([2.0, 0.6]), T([1.0, 3.0])), D.Normal(T([0.1, -1.0]), T([0.5, 2.0]))),
    lambda D, T: (D.Gamma(T([2.0, 0.6]), T([1.0, 3.0])), D.Uniform(T([0.0, 0.2]), T([1.5, 1.0]))),
    lambda D, T: (D.Chi2(T([2.0, 5.0])), D.Exponential(T([0.7, 2.0]))),
    lambda D, T: (D.Laplace(T([0.1, -1.0]), T([0.5, 2.0])), D.Normal(T([1.0, 0.0]), T([1.5, 0.5]))),
    lambda D, T: (D.Normal(T([0.1, -1.0]), T([0.5, 2.0])), D.Laplace(T([1.0, 0.0]), T([1.5, 0.5]))),
    lambda D, T: (D.Normal(T([0.1, -1.0]), T([0.5, 2.0])), D.Gamma(T([2.0, 0.6]), T([1.0, 3.0]))),
    lambda D, T: (D.Uniform(T([0.1, 0.2]), T([0.5, 0.9])), D.Beta(T([0.7, 2.0]), T([1.5, 3.0]))),
    lambda D, T: (D.Uniform(T([0.1, -0.2]), T([0.5, 0.9])), D.Beta(T([0.7, 2.0]), T([1.5, 3.0]))),
    lambda D, T: (D.Uniform(T([0.1, -0.2]), T([0.5, 0.9])), D.Exponential(T([0.7, 2.0]))),
    lambda D, T: (D.Uniform(T([0.1, 0.2]), T([0.5, 0.9])), D.Gamma(T([2.0, 0.6]), T([1.0, 3.0]))),
    lambda D, T: (D.Uniform(T([0.1, -0.2]), T([0.5, 0.9])), D.Normal(T([1.0, 0.0]), T([1.5, 0.5]))),
    lambda D, T: (D.Poisson(T([0.5, 2.0])), D.Binomial(3, T([0.3, 0.8]))),
]


@pytest.mark.parametrize("i", range(len(CROSS)))
def test_kl_across_families_matches_torch(i):
    ours_t, theirs_t = [], []

    def mk_ours(v):
        ours_t.append(ge.tensor(np.float64(v), requires_grad=True))
        return ours_t[-1]

    def mk_theirs(v):
        theirs_t.append(torch.tensor(np.float64(v), requires_grad=True))
        return theirs_t[-1]

    kl = GD.kl_divergence(*CROSS[i](GD, mk_ours))
    tkl = TD.kl_divergence(*CROSS[i](TD, mk_theirs))
    _close(kl, tkl, rtol=1e-8, atol=1e-10)
    if np.all(np.isfinite(tkl.detach().numpy())):
        kl.sum().backward()
        tkl.sum().backward()
        for a, b in zip(ours_t, theirs_t):
            _close(a.grad if a.grad is not None else np.zeros(a.shape),
                   b.grad if b.grad is not None else np.zeros(tuple(b.shape)),
                   rtol=1e-7, atol=1e-10)


SCALARS = [("Normal", (0.0, 1.0), 0.5), ("Uniform", (0.0, 2.0), 0.5), ("Exponential", (2.0,), 0.5),
           ("Laplace", (0.0, 1.0), 0.5), ("Cauchy", (0.0, 1.0), 0.5), ("StudentT", (3.0,), 0.5),
           ("Gamma", (2.0, 1.0), 0.5), ("Chi2", (3.0,), 0.5), ("Beta", (2.0, 3.0), 0.5),
           ("LogNormal", (0.0, 1.0), 0.5), ("HalfNormal", (1.0,), 0.5), ("Poisson", (2.0,), 3.0),
           ("Geometric", (0.3,), 2.0), ("Bernoulli", (0.3,), 1.0), ("Binomial", (5, 0.3), 2.0)]


@pytest.mark.parametrize("name, args, value", SCALARS, ids=[s[0] for s in SCALARS])
def test_python_numbers_make_float32_scalars_as_torch(name, args, value):
    d, t = getattr(GD, name)(*args), getattr(TD, name)(*args)
    assert d.batch_shape == tuple(t.batch_shape) == ()
    ge.manual_seed(0)
    s, ts = d.sample(), t.sample()
    assert s.shape == tuple(ts.shape) and s.dtype.name == str(ts.dtype).removeprefix("torch.")
    lp, tlp = d.log_prob(value), t.log_prob(torch.tensor(value))
    assert lp.dtype.name == "float32"
    np.testing.assert_allclose(lp.item(), tlp.item(), rtol=1e-5)
    if d.has_rsample:
        assert d.rsample((3,)).shape == (3,)
    assert repr(d).startswith(name + "(") and "logits" not in repr(d)  # the given one only


def test_jit_replays_sampling_and_log_prob_without_validation():
    # validate_args reads parameters on the host (as torch's checks do); without it a step
    # with gamma / Dirichlet draws and MVN log_prob replays eager results bit for bit
    a = ge.tensor(np.float32([1.5, 3.0]), requires_grad=True)

    def step(a):
        x = GD.Gamma(a, 2.0, validate_args=False).rsample((4,))
        y = GD.Dirichlet(ge.stack([a, a * 2], -1), validate_args=False).rsample((3,))
        n = GD.MultivariateNormal(ge.zeros(2), scale_tril=ge.functional.diag_embed(a),
                                  validate_args=False)
        loss = x.sum() + (y[..., 0] ** 2).sum() + n.log_prob(ge.ones(2))
        return loss, ge.grad(loss, [a])

    jitted = ge.jit(step)
    for k in range(3):
        ge.manual_seed(k)
        want = step(a)
        ge.manual_seed(k)
        got = jitted(a)
        assert got[0].item() == want[0].item()
        np.testing.assert_array_equal(got[1][0].numpy(), want[1][0].numpy())
    assert jitted.traces == 1


@pytest.mark.parametrize("name", ["Bernoulli", "Categorical", "OneHotCategorical", "Binomial"])
def test_enumerate_support_and_perplexity_match_torch(name):
    _, build, params, _ = next(c for c in CASES if c[0] == name)
    d, t, _, _ = _pair(build, params)
    assert d.has_enumerate_support == t.has_enumerate_support
    for expand in (True, False):
        _close(d.enumerate_support(expand), t.enumerate_support(expand))
    _close(d.perplexity(), t.perplexity())
    lp = d.log_prob(d.enumerate_support())
    _close(lp, t.log_prob(t.enumerate_support()))
