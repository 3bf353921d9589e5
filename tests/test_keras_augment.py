"""gradengine.keras's image augmentation layers against Keras 3 itself (torch backend):
factor ranges that make each transform deterministic, compared with Keras' own layer
called with training=True for every fill_mode and interpolation; the affine sampler
against keras.ops.image.affine_transform; identity at inference; shapes, dtypes, configs,
seed reproducibility, gradients through the sampling, and a small CNN trained with fit.

Skipped when Keras is not installed (it is not a dependency).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
K = pytest.importorskip("keras")
if K.backend.backend() != "torch":
    pytest.skip("the Keras oracle runs on the torch backend", allow_module_level=True)

import gradengine as ge  # noqa: E402
from gradengine import keras as G  # noqa: E402
from gradengine.keras.layers_augment import _homography, affine_transform  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:Tensor.T is deprecated:UserWarning")]

FILLS = ("reflect", "wrap", "constant", "nearest")
INTERPS = ("bilinear", "nearest")


def _np(t):
    return np.asarray(K.ops.convert_to_numpy(t)) if not isinstance(t, ge.Tensor) else t.numpy()


def _images(shape=(2, 7, 6, 3), seed=0):
    return np.random.default_rng(seed).uniform(0, 255, shape).astype("float32")


def _same(name, kwargs, x, atol=1e-3, training=True):
    k = getattr(K.layers, name)(**kwargs)
    g = getattr(G.layers, name)(**kwargs)
    want = _np(k(x, training=training))
    got = g(x, training=training).numpy()
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=atol, rtol=1e-5, err_msg=f"{name} {kwargs}")


@pytest.mark.parametrize("fill", FILLS)
@pytest.mark.parametrize("interp", INTERPS)
def test_geometric_layers_match_keras(fill, interp):
    x = _images()
    common = dict(fill_mode=fill, interpolation=interp, fill_value=7.0)
    _same("RandomRotation", dict(factor=(0.25, 0.25), **common), x)
    _same("RandomRotation", dict(factor=(-0.1, -0.1), **common), x)
    _same("RandomZoom", dict(height_factor=(0.5, 0.5), **common), x)
    _same("RandomZoom", dict(height_factor=(-0.3, -0.3), width_factor=(0.4, 0.4), **common), x)
    _same("RandomTranslation", dict(height_factor=(0.25, 0.25), width_factor=(0.25, 0.25),
                                    **common), x)
    _same("RandomTranslation", dict(height_factor=(-0.4, -0.4), width_factor=(0.1, 0.1),
                                    **common), x[0])  # one unbatched image


@pytest.mark.parametrize("fill", FILLS)
@pytest.mark.parametrize("interp", INTERPS)
def test_affine_transform_matches_keras_ops(fill, interp):
    rng = np.random.default_rng(1)
    x = _images((3, 6, 5, 2))
    t = np.concatenate([rng.normal(size=(3, 6)) * [1, 0.3, 2, 0.3, 1, 2] + [1, 0, 0, 0, 1, 0],
                        np.zeros((3, 2))], axis=1).astype("float32")
    want = _np(K.ops.image.affine_transform(x, t, interpolation=interp, fill_mode=fill,
                                            fill_value=3.0))
    got = affine_transform(ge.tensor(x), t, interp, fill, 3.0).numpy()
    np.testing.assert_allclose(got, want, atol=1e-3, rtol=1e-5)


@pytest.mark.parametrize("interp", INTERPS)
def test_perspective_sampler_matches_keras_ops(interp):
    rng = np.random.default_rng(2)
    x = _images((2, 7, 6, 3))
    start = np.tile(np.array([[[0, 0], [5, 0], [0, 6], [5, 6]]], "float32"), (2, 1, 1))
    end = (start + rng.uniform(-1.2, 1.2, start.shape)).astype("float32")
    want = _np(K.ops.image.perspective_transform(x, start, end, interpolation=interp,
                                                 fill_value=4.0))
    got = affine_transform(ge.tensor(x), _homography(start, end), interp, "constant", 4.0,
                           projective=True).numpy()
    np.testing.assert_allclose(got, want, atol=2e-3, rtol=1e-5)
    _same("RandomPerspective", dict(scale=0.0, interpolation=interp), x)  # no warp


def test_shear_matches_keras_up_to_its_random_sign():
    ge.manual_seed(0)
    x = _images((4, 6, 6, 1))
    g = G.layers.RandomShear(x_factor=(0.3, 0.3), y_factor=(0.2, 0.2), fill_mode="constant")
    got = g(x, training=True).numpy()
    outs = []
    for s in (1.0, -1.0):
        t = np.tile(np.array([1, 0.3 * s, 0, 0.2 * s, 1, 0, 0, 0], "float32"), (4, 1))
        outs.append(_np(K.ops.image.affine_transform(x, t, fill_mode="constant")))
    for i in range(4):
        assert any(np.allclose(got[i], o[i], atol=1e-3) for o in outs)


def test_colour_layers_match_keras():
    x = _images()
    _same("RandomContrast", dict(factor=(-0.3, 0.3)), x)   # contrast factor 1.3
    _same("RandomContrast", dict(factor=0.0), x)
    _same("RandomBrightness", dict(factor=(0.2, 0.2)), x)
    _same("RandomBrightness", dict(factor=(-0.5, -0.5), value_range=(0, 1)), x / 255)
    _same("RandomGrayscale", dict(factor=1.0), x)
    _same("RandomGrayscale", dict(factor=0.0), x)
    _same("Solarization", dict(), x)  # thresholds 0: every value inverted
    _same("Solarization", dict(value_range=(0, 1)), x / 255, atol=1e-5)
    _same("RandomInvert", dict(factor=(1.0, 1.0)), x)
    _same("RandomColorDegeneration", dict(factor=(0.6, 0.6)), x)
    _same("RandomColorDegeneration", dict(factor=(-0.4, -0.4), value_range=(0, 1)), x / 255)
    _same("RandomSaturation", dict(factor=(0.25, 0.25), value_range=(0, 1)), x / 255,
          atol=1e-5)
    _same("RandomSaturation", dict(factor=(0.8, 0.8)), x)
    _same("RandomSaturation", dict(factor=0.0), x)
    _same("RandomColorJitter", dict(brightness_factor=(0.1, 0.1), contrast_factor=(-0.2, 0.2),
                                    saturation_factor=(0.3, 0.3)), x)
    _same("RandomColorJitter", dict(value_range=(0, 1), contrast_factor=(-0.4, 0.4)), x / 255,
          atol=1e-5)
    _same("RandomGaussianBlur", dict(factor=(1.0, 1.0), sigma=(0.7, 0.7)), x)
    _same("RandomGaussianBlur", dict(factor=(1.0, 1.0), kernel_size=5, sigma=(0.4, 0.4),
                                     value_range=(0, 1)), x / 255, atol=1e-5)
    _same("RandomGaussianBlur", dict(factor=0.0), x)
    _same("RandomErasing", dict(factor=(1.0, 1.0), scale=(1.0, 1.0), fill_value=300.0), x)
    _same("RandomErasing", dict(factor=(1.0, 1.0), scale=(1.0, 1.0), fill_value=(1, 2, 3)), x)
    _same("RandomErasing", dict(factor=0.0), x)
    _same("Equalization", dict(), x)
    _same("Equalization", dict(bins=16), np.round(x))
    _same("Equalization", dict(value_range=(0, 1)), x / 255, atol=1e-5)
    _same("RandomSharpness", dict(factor=(0.1, 0.1)), x)
    _same("RandomSharpness", dict(factor=(0.9, 0.9), value_range=(0, 1)), x / 255, atol=1e-5)
    for bits in (1, 3, 8):
        _same("RandomPosterization", dict(factor=(bits, bits)), x)
    _same("RandomPosterization", dict(factor=(4, 4), value_range=(0, 1)), x / 255,
          atol=1e-5)
    _same("AutoContrast", dict(), x / 2 + 20)
    _same("AutoContrast", dict(), x[0] / 2 + 20)
    _same("RandomBrightness", dict(factor=(0.2, 0.2)), x[1])
    _same("AutoContrast", dict(value_range=(0, 1)), x / 510, training=False, atol=1e-5)


def test_random_crop_matches_keras_where_deterministic():
    ge.manual_seed(0)
    x = _images((2, 9, 8, 3))
    _same("RandomCrop", dict(height=6, width=8), x, training=True)   # not larger: centre
    _same("RandomCrop", dict(height=12, width=10), x, training=True)  # resized up
    # at inference Keras 3.15's RandomCrop returns its input unchanged (its documented
    # centre crop is skipped); gradengine's takes the centre box, as Keras' CenterCrop
    for h, w in ((5, 4), (6, 8), (12, 10)):
        want = _np(K.layers.CenterCrop(h, w)(x))
        np.testing.assert_allclose(G.layers.RandomCrop(h, w)(x, training=False).numpy(), want,
                                   atol=1e-3)
    g = G.layers.RandomCrop(5, 4)
    got = g(x, training=True).numpy()
    assert got.shape == (2, 5, 4, 3)
    hits = [(i, j) for i in range(5) for j in range(5)
            if np.array_equal(x[:, i:i + 5, j:j + 4], got)]
    assert len(hits) == 1


def test_inference_is_the_identity_and_shapes_dtypes():
    ge.manual_seed(0)
    x = _images((2, 6, 6, 3))
    L = G.layers
    for layer in (L.RandomRotation(0.3), L.RandomZoom(0.3), L.RandomTranslation(0.2, 0.2),
                  L.RandomShear(0.3, 0.3), L.RandomContrast(0.5), L.RandomBrightness(0.3),
                  L.RandomGrayscale(1.0), L.Solarization(0.5, 0.5),
                  L.RandomInvert((1.0, 1.0)), L.RandomColorDegeneration(0.5),
                  L.RandomPosterization(2),
                  L.RandomSharpness(0.5), L.RandomSaturation(0.9), L.RandomHue(0.5),
                  L.RandomColorJitter(contrast_factor=0.5, hue_factor=0.3),
                  L.RandomGaussianBlur((1.0, 1.0)), L.Equalization(),
                  L.RandomErasing((1.0, 1.0), scale=(0.3, 0.5)),
                  L.RandomPerspective((1.0, 1.0), scale=0.5),
                  L.Pipeline([L.RandomZoom(0.5), L.RandomContrast(0.5)])):
        np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
        y = layer(x, training=True)
        assert y.shape == x.shape and y.dtype == "float32"
        assert layer(x[0], training=True).shape == x.shape[1:]
        assert not np.array_equal(layer(x, training=True).numpy(), x), layer


def test_configs_round_trip_and_bad_arguments():
    L = G.layers
    for layer in (L.RandomRotation((0.1, 0.2), fill_mode="wrap", interpolation="nearest"),
                  L.RandomZoom(0.2, 0.3, fill_value=1.0), L.RandomTranslation(0.1, 0.2),
                  L.RandomShear(0.1), L.RandomCrop(3, 4), L.RandomContrast(0.2),
                  L.RandomBrightness(0.1, value_range=(0, 1)), L.RandomGrayscale(0.3),
                  L.Solarization(0.1, 0.2), L.RandomInvert(0.5), L.AutoContrast((0, 1)),
                  L.RandomColorDegeneration(0.3), L.RandomPosterization((2, 5)),
                  L.RandomSharpness(0.4), L.RandomSaturation(0.3), L.RandomHue(0.2),
                  L.RandomColorJitter(brightness_factor=0.2, hue_factor=0.1),
                  L.RandomGaussianBlur(0.5, kernel_size=5, sigma=(0.2, 0.9)),
                  L.Equalization((0, 1), bins=64), L.RandomErasing(0.5, fill_value=2.0),
                  L.RandomPerspective(0.5, 0.3, interpolation="nearest")):
        cfg = layer.get_config()
        again = type(layer).from_config(cfg)
        assert again.get_config() == cfg
        kcfg = getattr(K.layers, type(layer).__name__)(**cfg).get_config()
        assert set(cfg) - {"name", "seed"} <= set(kcfg)
    pipe = L.Pipeline([L.RandomZoom(0.2), L.RandomContrast(0.2)])
    back = L.Pipeline.from_config(pipe.get_config())
    assert [type(m).__name__ for m in back.layers] == ["RandomZoom", "RandomContrast"]
    with pytest.raises(NotImplementedError, match="channels_first"):
        L.RandomRotation(0.1, data_format="channels_first")
    with pytest.raises(NotImplementedError, match="fill_mode"):
        L.RandomZoom(0.1, fill_mode="mirror")
    with pytest.raises(NotImplementedError, match="interpolation"):
        L.RandomTranslation(0.1, 0.1, interpolation="bicubic")
    with pytest.raises(ValueError, match="factor"):
        L.RandomRotation(2.0)
    with pytest.raises(ValueError, match="height_factor"):
        L.RandomZoom(-1.0)
    with pytest.raises(ValueError, match="shape"):
        L.RandomRotation(0.1)(np.zeros((2, 3)), training=True)


def test_a_bare_call_augments_as_keras():
    # Keras' preprocessing layers default to training=True outside a model; predict and
    # evaluate run them as the identity (test_augmentation_model_trains_with_fit)
    x = _images((2, 6, 6, 3))
    k = K.layers.RandomBrightness((0.1, 0.1))
    g = G.layers.RandomBrightness((0.1, 0.1))
    np.testing.assert_allclose(g(x).numpy(), _np(k(x)), atol=1e-3)


def test_seed_reproducibility():
    x = _images((2, 6, 6, 3))
    layer = G.layers.RandomRotation(0.3)
    ge.manual_seed(3)
    a = layer(x, training=True).numpy()
    ge.manual_seed(3)
    b = layer(x, training=True).numpy()
    G.utils.set_random_seed(3)
    c = layer(x, training=True).numpy()
    d = layer(x, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(c, d)


def test_gradients_reach_the_input():
    x = ge.tensor(np.random.default_rng(0).normal(size=(1, 4, 5, 2)), requires_grad=True)
    t = np.array([[0.9, 0.2, 0.3, -0.1, 1.1, 0.4, 0, 0]], "float32")
    for fill in FILLS:
        assert ge.gradcheck(lambda v, f=fill: affine_transform(v, t, "bilinear", f, 2.0), (x,))


def test_augmentation_model_trains_with_fit():
    G.utils.set_random_seed(0)
    L = G.layers
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (32, 8, 8, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype("int64")
    modes = []

    class Spy(L.RandomZoom):
        def forward(self, x, training=None):
            modes.append(self.training)
            return super().forward(x, training=training)

    augment = G.Sequential([L.RandomFlip("horizontal"), L.RandomRotation(0.05), Spy(0.1),
                            L.RandomZoom(0.1), L.RandomTranslation(0.1, 0.1),
                            L.RandomContrast(0.1, value_range=(0, 1))])
    model = G.Sequential([G.Input(shape=(8, 8, 1)), augment,
                          L.Conv2D(4, 3, activation="relu"), L.Flatten(), L.Dense(2)])
    model.compile(optimizer="adam", loss=G.losses.SparseCategoricalCrossentropy(
        from_logits=True))
    hist = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    losses = hist.history["loss"]
    assert all(np.isfinite(losses))
    p1, p2 = model.predict(x, verbose=0), model.predict(x, verbose=0)
    np.testing.assert_array_equal(np.asarray(p1), np.asarray(p2))  # inference: no augment
    assert True in modes and modes[-1] is False  # augmenting in fit, not in predict


@pytest.mark.parametrize("factor", [0.3, (0.1, 0.4), (0.4, 0.1), 0.0, 1.0])
def test_factor_forms_as_keras(factor):
    for name, theirs, ours in (
            ("RandomRotation", lambda k: k.factor, lambda g: g.factor),
            ("RandomContrast", lambda k: k.factor, lambda g: g.factor),
            ("RandomBrightness", lambda k: k.factor, lambda g: g.factor),
            ("RandomInvert", lambda k: k.factor, lambda g: g.factor),
            ("RandomColorDegeneration", lambda k: k.factor, lambda g: g.factor),
            ("RandomSharpness", lambda k: k.factor, lambda g: g.factor),
            ("RandomSaturation", lambda k: k.factor, lambda g: g.factor),
            ("RandomHue", lambda k: k.factor, lambda g: g.factor)):
        assert tuple(map(float, theirs(getattr(K.layers, name)(factor)))) == \
            ours(getattr(G.layers, name)(factor)), name
    k, g = K.layers.RandomZoom(factor, factor), G.layers.RandomZoom(factor, factor)
    assert (k.height_lower, k.height_upper) == g._h and (k.width_lower, k.width_upper) == g._w
    k, g = K.layers.RandomTranslation(factor, factor), G.layers.RandomTranslation(factor, factor)
    assert (k.height_lower, k.height_upper) == g._h and (k.width_lower, k.width_upper) == g._w
    k, g = K.layers.RandomShear(factor, factor), G.layers.RandomShear(factor, factor)
    assert tuple(k.x_factor) == g.x_factor and tuple(k.y_factor) == g.y_factor
    k, g = K.layers.Solarization(factor, factor), G.layers.Solarization(factor, factor)
    assert tuple(k.addition_factor) == g.addition_factor
    assert tuple(k.threshold_factor) == g.threshold_factor


def test_a_model_with_augmentation_saves_and_loads(tmp_path):
    L = G.layers
    m = G.Sequential([G.Input(shape=(6, 6, 3)), L.RandomRotation((0.1, 0.2), fill_mode="wrap"),
                      L.Pipeline([L.RandomZoom(0.2), L.RandomContrast(0.3)]),
                      L.RandomCrop(4, 4), L.Flatten(), L.Dense(2)])
    x = _images((2, 6, 6, 3))
    path = str(tmp_path / "m.keras")
    m.save(path)
    back = G.models.load_model(path)
    assert [type(la).__name__ for la in back.layers] == \
        ["RandomRotation", "Pipeline", "RandomCrop", "Flatten", "Dense"]
    cfg = back.layers[0].get_config()
    assert tuple(cfg["factor"]) == (0.1, 0.2) and cfg["fill_mode"] == "wrap"
    assert [type(la).__name__ for la in back.layers[1].layers] == ["RandomZoom",
                                                                    "RandomContrast"]
    np.testing.assert_allclose(back.predict(x, verbose=0), m.predict(x, verbose=0))


def test_posterization_random_bits_stay_in_keras_range():
    ge.manual_seed(0)
    x = _images((6, 4, 4, 3))
    got = G.layers.RandomPosterization((2, 5))(x, training=True).numpy()
    outs = [_np(K.layers.RandomPosterization((b, b))(x, training=True)) for b in (2, 3, 4)]
    for i in range(6):
        assert any(np.allclose(got[i], o[i], atol=1e-3) for o in outs)


def test_hue_matches_keras_up_to_its_random_sign():
    ge.manual_seed(0)
    x = _images((3, 4, 5, 3))
    got = G.layers.RandomHue((0.3, 0.3))(x, training=True).numpy()
    K.utils.set_random_seed(0)
    k = K.layers.RandomHue((0.3, 0.3))
    outs = [_np(k(x, training=True)) for _ in range(12)]  # both signs, seeded
    for i in range(3):
        assert len({o[i].tobytes() for o in outs}) == 2
        assert any(np.allclose(got[i], o[i], atol=1e-3) for o in outs)


def test_random_erasing_erases_one_box_as_keras_would():
    ge.manual_seed(0)
    x = _images((4, 8, 10, 3)) + 1.0
    got = G.layers.RandomErasing((1.0, 1.0), scale=(0.1, 0.3), fill_value=0.0)(
        x, training=True).numpy()
    for i in range(4):
        erased = (got[i] == 0).all(axis=-1)
        rows, cols = np.nonzero(erased)
        assert rows.size
        box = erased[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
        assert box.all() and erased.sum() == box.size  # one full rectangle
        h, w = box.shape
        assert np.sqrt(0.1) * 8 - 1 <= h <= np.sqrt(0.3) * 8 + 1
        assert np.sqrt(0.1) * 10 - 1 <= w <= np.sqrt(0.3) * 10 + 1
        np.testing.assert_array_equal(got[i][~erased], x[i][~erased])


def _fixed_layers():
    L = G.layers
    return [L.RandomRotation((0.1, 0.1), fill_mode="constant"),
            L.RandomZoom((0.3, 0.3), interpolation="nearest", fill_mode="wrap"),
            L.RandomTranslation((0.2, 0.2), (-0.1, -0.1)), L.RandomCrop(6, 4),
            L.RandomContrast((-0.2, 0.2)), L.RandomBrightness((0.1, 0.1)),
            L.RandomGrayscale(1.0), L.Solarization(), L.RandomInvert((1.0, 1.0)),
            L.AutoContrast(), L.RandomSharpness((0.2, 0.2)), L.RandomSaturation((0.3, 0.3)),
            L.RandomGaussianBlur((1.0, 1.0), sigma=(0.5, 0.5)), L.Equalization(),
            L.RandomErasing((1.0, 1.0), scale=(1.0, 1.0), fill_value=3.0),
            L.RandomPerspective(scale=0.0)]


def test_layers_run_on_the_cuda_code_path(device):
    x = _images((2, 6, 6, 3))
    ref = [layer(ge.tensor(x), training=True).numpy() for layer in _fixed_layers()]
    previous = ge.get_default_device()
    ge.set_default_device(device)
    try:
        for layer, r in zip(_fixed_layers(), ref):
            xt = ge.tensor(x, requires_grad=True)
            out = layer(xt, training=True)
            assert out.device.startswith(device), layer
            np.testing.assert_allclose(out.numpy(), r, rtol=1e-5, atol=1e-4)
            if not isinstance(layer, G.layers.Equalization):
                out.sum().backward()
                assert xt.grad is not None
    finally:
        ge.set_default_device(previous)
