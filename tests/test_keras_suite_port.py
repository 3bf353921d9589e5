"""Keras 3.15's own tests, ported to gradengine (`from gradengine import keras`).

Each case keeps the logic and expected values of the Keras test named in the comment above
it (keras/src/...); only Keras' harness is replaced: ``self.assertAllClose`` by
``np.testing.assert_allclose`` at Keras' default tolerances (1e-6), TestCase classes by
plain functions calling ``keras.backend.clear_session()`` first, ``run_layer_test`` by the
small equivalent below. Where gradengine differs on purpose (docs/from-keras.md), the case is
adapted minimally and the comment names the difference. Keras' internal
``keras.src.backend.convert_to_numpy`` is spelled with its public name,
``keras.ops.convert_to_numpy``.
"""

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

from gradengine import keras

layers = keras.layers
ops = keras.ops
backend = keras.backend


def assert_all_close(actual, desired, atol=1e-6, rtol=1e-6):
    # Keras' TestCase.assertAllClose: converts to NumPy, default tolerances 1e-6
    if not isinstance(actual, np.ndarray):
        actual = ops.convert_to_numpy(actual)
    if not isinstance(desired, np.ndarray):
        desired = ops.convert_to_numpy(desired)
    np.testing.assert_allclose(actual, desired, atol=atol, rtol=rtol)


def run_layer_test(layer_cls, init_kwargs, input_shape=None, input_data=None,
                   input_dtype="float32", call_kwargs=None, expected_output_shape=None,
                   expected_output=None, expected_num_trainable_weights=None,
                   expected_num_non_trainable_weights=None,
                   expected_num_losses=None, **_ignored):
    """A small equivalent of Keras' TestCase.run_layer_test: the config round trip, one
    eager call on the data, the output's shape / values, the weight and loss counts."""
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    revived = layer_cls.from_config(config)
    assert revived.get_config() == config
    if input_data is None:
        if input_dtype.startswith("int"):
            input_data = np.random.randint(0, 2, size=input_shape).astype(input_dtype)
        else:
            input_data = np.random.random(input_shape).astype(input_dtype)
    output = layer(input_data, **(call_kwargs or {}))
    if expected_output_shape is not None:
        assert tuple(output.shape) == tuple(expected_output_shape)
    if expected_output is not None:
        assert_all_close(output, expected_output)
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights
    if expected_num_non_trainable_weights is not None:
        assert (len(layer.non_trainable_weights)
                == expected_num_non_trainable_weights)
    if expected_num_losses is not None:
        assert len(layer.losses) == expected_num_losses
    return layer


@pytest.fixture(autouse=True)
def _clear_session():
    keras.backend.clear_session()
    yield


# -- NumPy references copied verbatim from keras/src/layers/pooling/max_pooling_test.py
# -- and average_pooling_test.py
def _same_padding(input_size, pool_size, stride):
    if input_size % stride == 0:
        return max(pool_size - stride, 0)
    else:
        return max(pool_size - (input_size % stride), 0)


def np_maxpool1d(x, pool_size, strides, padding, data_format):
    if data_format == "channels_first":
        x = x.swapaxes(1, 2)
    if isinstance(pool_size, (tuple, list)):
        pool_size = pool_size[0]
    if isinstance(strides, (tuple, list)):
        h_stride = strides[0]
    else:
        h_stride = strides

    if padding == "same":
        n_batch, h_x, ch_x = x.shape
        pad_value = _same_padding(h_x, pool_size, h_stride)
        npad = [(0, 0)] * x.ndim
        npad[1] = (0, pad_value)
        x = np.pad(x, pad_width=npad, mode="constant", constant_values=-np.inf)

    n_batch, h_x, ch_x = x.shape
    out_h = int((h_x - pool_size) / h_stride) + 1

    stride_shape = (n_batch, out_h, ch_x, pool_size)
    strides = (
        x.strides[0],
        h_stride * x.strides[1],
        x.strides[2],
        x.strides[1],
    )
    windows = as_strided(x, shape=stride_shape, strides=strides)
    out = np.max(windows, axis=(3,))
    if data_format == "channels_first":
        out = out.swapaxes(1, 2)
    return out


def np_maxpool2d(x, pool_size, strides, padding, data_format):
    if data_format == "channels_first":
        x = x.transpose((0, 2, 3, 1))
    if isinstance(pool_size, int):
        pool_size = (pool_size, pool_size)
    if isinstance(strides, int):
        strides = (strides, strides)

    h_pool_size, w_pool_size = pool_size
    h_stride, w_stride = strides
    if padding == "same":
        n_batch, h_x, w_x, ch_x = x.shape
        h_padding = _same_padding(h_x, h_pool_size, h_stride)
        w_padding = _same_padding(w_x, w_pool_size, w_stride)
        npad = [(0, 0)] * x.ndim
        npad[1] = (0, h_padding)
        npad[2] = (0, w_padding)
        x = np.pad(x, pad_width=npad, mode="constant", constant_values=-np.inf)

    n_batch, h_x, w_x, ch_x = x.shape
    out_h = int((h_x - h_pool_size) / h_stride) + 1
    out_w = int((w_x - w_pool_size) / w_stride) + 1

    stride_shape = (n_batch, out_h, out_w, ch_x, *pool_size)
    strides = (
        x.strides[0],
        h_stride * x.strides[1],
        w_stride * x.strides[2],
        x.strides[3],
        x.strides[1],
        x.strides[2],
    )
    windows = as_strided(x, shape=stride_shape, strides=strides)
    out = np.max(windows, axis=(4, 5))
    if data_format == "channels_first":
        out = out.transpose((0, 3, 1, 2))
    return out


def np_maxpool3d(x, pool_size, strides, padding, data_format):
    if data_format == "channels_first":
        x = x.transpose((0, 2, 3, 4, 1))

    if isinstance(pool_size, int):
        pool_size = (pool_size, pool_size, pool_size)
    if isinstance(strides, int):
        strides = (strides, strides, strides)

    h_pool_size, w_pool_size, d_pool_size = pool_size
    h_stride, w_stride, d_stride = strides

    if padding == "same":
        n_batch, h_x, w_x, d_x, ch_x = x.shape
        h_padding = _same_padding(h_x, h_pool_size, h_stride)
        w_padding = _same_padding(w_x, w_pool_size, w_stride)
        d_padding = _same_padding(d_x, d_pool_size, d_stride)
        npad = [(0, 0)] * x.ndim
        npad[1] = (0, h_padding)
        npad[2] = (0, w_padding)
        npad[3] = (0, d_padding)
        x = np.pad(x, pad_width=npad, mode="constant", constant_values=-np.inf)

    n_batch, h_x, w_x, d_x, ch_x = x.shape
    out_h = int((h_x - h_pool_size) / h_stride) + 1
    out_w = int((w_x - w_pool_size) / w_stride) + 1
    out_d = int((d_x - d_pool_size) / d_stride) + 1

    stride_shape = (n_batch, out_h, out_w, out_d, ch_x, *pool_size)
    strides = (
        x.strides[0],
        h_stride * x.strides[1],
        w_stride * x.strides[2],
        d_stride * x.strides[3],
        x.strides[4],
        x.strides[1],
        x.strides[2],
        x.strides[3],
    )
    windows = as_strided(x, shape=stride_shape, strides=strides)
    out = np.max(windows, axis=(5, 6, 7))
    if data_format == "channels_first":
        out = out.transpose((0, 4, 1, 2, 3))
    return out


def np_avgpool1d(x, pool_size, strides, padding, data_format):
    if data_format == "channels_first":
        x = x.swapaxes(1, 2)
    if isinstance(pool_size, (tuple, list)):
        pool_size = pool_size[0]
    if isinstance(strides, (tuple, list)):
        h_stride = strides[0]
    else:
        h_stride = strides

    if padding == "same":
        n_batch, h_x, ch_x = x.shape
        pad_value = _same_padding(h_x, pool_size, h_stride)
        npad = [(0, 0)] * x.ndim
        npad[1] = (0, pad_value)
        x = np.pad(x, pad_width=npad, mode="edge")

    n_batch, h_x, ch_x = x.shape
    out_h = int((h_x - pool_size) / h_stride) + 1

    stride_shape = (n_batch, out_h, ch_x, pool_size)
    strides = (
        x.strides[0],
        h_stride * x.strides[1],
        x.strides[2],
        x.strides[1],
    )
    windows = as_strided(x, shape=stride_shape, strides=strides)
    out = np.mean(windows, axis=(3,))
    if data_format == "channels_first":
        out = out.swapaxes(1, 2)
    return out


def np_avgpool2d(x, pool_size, strides, padding, data_format):
    if data_format == "channels_first":
        x = x.transpose((0, 2, 3, 1))
    if isinstance(pool_size, int):
        pool_size = (pool_size, pool_size)
    if isinstance(strides, int):
        strides = (strides, strides)

    h_pool_size, w_pool_size = pool_size
    h_stride, w_stride = strides
    if padding == "same":
        n_batch, h_x, w_x, ch_x = x.shape
        h_padding = _same_padding(h_x, h_pool_size, h_stride)
        w_padding = _same_padding(w_x, w_pool_size, w_stride)
        npad = [(0, 0)] * x.ndim
        npad[1] = (0, h_padding)
        npad[2] = (0, w_padding)
        x = np.pad(x, pad_width=npad, mode="edge")

    n_batch, h_x, w_x, ch_x = x.shape
    out_h = int((h_x - h_pool_size) / h_stride) + 1
    out_w = int((w_x - w_pool_size) / w_stride) + 1

    stride_shape = (n_batch, out_h, out_w, ch_x, *pool_size)
    strides = (
        x.strides[0],
        h_stride * x.strides[1],
        w_stride * x.strides[2],
        x.strides[3],
        x.strides[1],
        x.strides[2],
    )
    windows = as_strided(x, shape=stride_shape, strides=strides)
    out = np.mean(windows, axis=(4, 5))
    if data_format == "channels_first":
        out = out.transpose((0, 3, 1, 2))
    return out


def np_avgpool3d(x, pool_size, strides, padding, data_format):
    if data_format == "channels_first":
        x = x.transpose((0, 2, 3, 4, 1))

    if isinstance(pool_size, int):
        pool_size = (pool_size, pool_size, pool_size)
    if isinstance(strides, int):
        strides = (strides, strides, strides)

    h_pool_size, w_pool_size, d_pool_size = pool_size
    h_stride, w_stride, d_stride = strides

    if padding == "same":
        n_batch, h_x, w_x, d_x, ch_x = x.shape
        h_padding = _same_padding(h_x, h_pool_size, h_stride)
        w_padding = _same_padding(w_x, w_pool_size, w_stride)
        d_padding = _same_padding(d_x, d_pool_size, d_stride)
        npad = [(0, 0)] * x.ndim
        npad[1] = (0, h_padding)
        npad[2] = (0, w_padding)
        npad[3] = (0, d_padding)
        x = np.pad(x, pad_width=npad, mode="symmetric")

    n_batch, h_x, w_x, d_x, ch_x = x.shape
    out_h = int((h_x - h_pool_size) / h_stride) + 1
    out_w = int((w_x - w_pool_size) / w_stride) + 1
    out_d = int((d_x - d_pool_size) / d_stride) + 1

    stride_shape = (n_batch, out_h, out_w, out_d, ch_x, *pool_size)
    strides = (
        x.strides[0],
        h_stride * x.strides[1],
        w_stride * x.strides[2],
        d_stride * x.strides[3],
        x.strides[4],
        x.strides[1],
        x.strides[2],
        x.strides[3],
    )
    windows = as_strided(x, shape=stride_shape, strides=strides)
    out = np.mean(windows, axis=(5, 6, 7))
    if data_format == "channels_first":
        out = out.transpose((0, 4, 1, 2, 3))
    return out




# ---------------------------------------------------------------- layers/core/dense_test.py

# keras/src/layers/core/dense_test.py::DenseTest::test_dense_basics
def test_dense_basics():
    # 2D case, no bias.
    run_layer_test(
        layers.Dense,
        init_kwargs={
            "units": 4,
            "activation": "relu",
            "kernel_initializer": "random_uniform",
            "bias_initializer": "ones",
            "use_bias": False,
        },
        input_shape=(2, 3),
        expected_output_shape=(2, 4),
        expected_num_trainable_weights=1,
        expected_num_non_trainable_weights=0,
        expected_num_losses=0,
    )
    # 3D case, some regularizers.
    run_layer_test(
        layers.Dense,
        init_kwargs={
            "units": 5,
            "activation": "sigmoid",
            "kernel_regularizer": "l2",
            "bias_regularizer": "l2",
        },
        input_shape=(2, 3, 4),
        expected_output_shape=(2, 3, 5),
        expected_num_trainable_weights=2,
        expected_num_non_trainable_weights=0,
        expected_num_losses=2,  # we have 2 regularizers.
    )


# keras/src/layers/core/dense_test.py::DenseTest::test_dense_invalid_units_raises
@pytest.mark.parametrize("units", [0, -3, 2.5, None, "64"])
def test_dense_invalid_units_raises(units):
    with pytest.raises(ValueError, match="positive integer"):
        layers.Dense(units)


# keras/src/layers/core/dense_test.py::DenseTest::test_dense_correctness
def test_dense_correctness():
    # With bias and activation.
    layer = layers.Dense(units=2, activation="relu")
    layer.build((1, 2))
    layer.set_weights(
        [
            np.array([[1.0, -2.0], [3.0, -4.0]]),
            np.array([5.0, -6.0]),
        ]
    )
    inputs = np.array(
        [[-1.0, 2.0]],
    )
    assert_all_close(layer(inputs), [[10.0, 0.0]])

    # Just a kernel matmul.
    layer = layers.Dense(units=2, use_bias=False)
    layer.build((1, 2))
    layer.set_weights(
        [
            np.array([[1.0, -2.0], [3.0, -4.0]]),
        ]
    )
    inputs = np.array(
        [[-1.0, 2.0]],
    )
    assert layer.bias is None
    assert_all_close(layer(inputs), [[5.0, -6.0]])


# keras/src/layers/core/dense_test.py::DenseTest::test_dense_errors
def test_dense_errors():
    with pytest.raises(ValueError, match="incompatible with the layer"):
        layer = layers.Dense(units=2, activation="relu")
        layer(keras.KerasTensor((1, 2)))
        layer(keras.KerasTensor((1, 3)))


# keras/src/layers/core/dense_test.py::DenseTest::test_dense_no_activation
def test_dense_no_activation():
    layer = layers.Dense(units=2, use_bias=False, activation=None)
    layer.build((1, 2))
    layer.set_weights([np.array([[1.0, -2.0], [3.0, -4.0]])])
    inputs = np.array([[-1.0, 2.0]])
    assert layer.bias is None
    assert_all_close(layer(inputs), [[5.0, -6.0]])


# keras/src/layers/core/dense_test.py::DenseTest::test_dense_without_activation_set
def test_dense_without_activation_set():
    layer = layers.Dense(units=2, use_bias=False)
    layer.build((1, 2))
    layer.set_weights([np.array([[1.0, -2.0], [3.0, -4.0]])])
    layer.activation = None
    inputs = np.array([[-1.0, 2.0]])
    assert layer.bias is None
    assert_all_close(layer(inputs), [[5.0, -6.0]])


# keras/src/layers/core/dense_test.py::DenseTest::test_dense_with_activation
def test_dense_with_activation():
    layer = layers.Dense(units=2, use_bias=False, activation="relu")
    layer.build((1, 2))
    layer.set_weights([np.array([[1.0, -2.0], [3.0, -4.0]])])
    inputs = np.array([[-1.0, 2.0]])
    output = layer(inputs)
    expected_output = np.array([[5.0, 0.0]])
    assert_all_close(output, expected_output)


# keras/src/layers/core/dense_test.py::DenseTest::test_dense_constraints
def test_dense_constraints():
    layer = layers.Dense(units=2, kernel_constraint="non_neg")
    layer.build((None, 2))
    assert isinstance(layer.kernel.constraint, keras.constraints.NonNeg)
    layer = layers.Dense(units=2, bias_constraint="non_neg")
    layer.build((None, 2))
    assert isinstance(layer.bias.constraint, keras.constraints.NonNeg)


# ------------------------------------------------------------ layers/core/embedding_test.py

# keras/src/layers/core/embedding_test.py::EmbeddingTest::test_embedding_basics
def test_embedding_basics():
    run_layer_test(
        layers.Embedding,
        {"input_dim": 4, "output_dim": 3},
        input_shape=(2,),
        input_dtype="int32",
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=1,
        expected_num_non_trainable_weights=0,
        expected_num_losses=0,
    )
    run_layer_test(
        layers.Embedding,
        {"input_dim": 5, "output_dim": 4, "mask_zero": True},
        input_shape=(2, 3),
        input_dtype="int64",
        expected_output_shape=(2, 3, 4),
        expected_num_trainable_weights=1,
        expected_num_non_trainable_weights=0,
        expected_num_losses=0,
    )


# keras/src/layers/core/embedding_test.py::EmbeddingTest::test_correctness
def test_embedding_correctness():
    layer = layers.Embedding(input_dim=3, output_dim=2)
    layer.build()
    layer.embeddings.assign(np.array([[0.0, 0.0], [2.0, 2.0], [3.0, 3.0]]))
    out = layer(np.array([2, 1, 0]))
    assert_all_close(out, np.array([[3.0, 3.0], [2.0, 2.0], [0.0, 0.0]]))


# keras/src/layers/core/embedding_test.py::EmbeddingTest::test_masking
def test_embedding_masking():
    layer = layers.Embedding(input_dim=3, output_dim=2, mask_zero=True)
    layer.build()
    out = layer.compute_mask(np.array(([2, 1, 0])))  # noqa: UP034 - as Keras has it
    assert_all_close(out, np.array([True, True, False]))


# keras/src/layers/core/embedding_test.py::EmbeddingTest::test_compute_mask_no_masking
def test_embedding_compute_mask_no_masking():
    layer = layers.Embedding(input_dim=3, output_dim=2, mask_zero=False)
    input_data = np.array([2, 1, 0])
    mask = layer.compute_mask(input_data)
    assert mask is None


# keras/src/layers/core/embedding_test.py::EmbeddingTest::test_embedding_constraints
def test_embedding_constraints():
    layer = layers.Embedding(3, 2, embeddings_constraint="non_neg")
    layer.build((None, 2))
    assert isinstance(layer.embeddings.constraint, keras.constraints.NonNeg)


# keras/src/layers/core/embedding_test.py::EmbeddingTest::test_invalid_input_dim
def test_embedding_invalid_input_dim():
    for bad_value in (3.7, 4.0, "3", None, True, False, -1, 0):
        with pytest.raises(ValueError, match="`input_dim` must be a positive integer"):
            layers.Embedding(input_dim=bad_value, output_dim=8)
    with pytest.raises(TypeError, match="`input_dim` must be a positive integer"):
        layers.Embedding.from_config({"input_dim": 3.7, "output_dim": 8})


# keras/src/layers/core/embedding_test.py::EmbeddingTest::test_invalid_output_dim
def test_embedding_invalid_output_dim():
    for bad_value in (3.7, 4.0, "3", None, True, False, -1, 0):
        with pytest.raises(ValueError, match="`output_dim` must be a positive integer"):
            layers.Embedding(input_dim=10, output_dim=bad_value)
    with pytest.raises(TypeError, match="`output_dim` must be a positive integer"):
        layers.Embedding.from_config({"input_dim": 10, "output_dim": 3.7})


# keras/src/layers/core/embedding_test.py::EmbeddingTest::test_weights_constructor_arg
def test_embedding_weights_constructor_arg():
    layer = layers.Embedding(3, 4, weights=np.ones((3, 4)))
    assert_all_close(layer.embeddings.numpy(), np.ones((3, 4)))
    layer = layers.Embedding(3, 4, weights=[np.ones((3, 4))])
    assert_all_close(layer.embeddings.numpy(), np.ones((3, 4)))


# ------------------------------------------------------------------ layers/rnn/lstm_test.py

# keras/src/layers/rnn/lstm_test.py::LSTMTest::test_basics
def test_lstm_basics():
    run_layer_test(
        layers.LSTM,
        init_kwargs={"units": 3, "dropout": 0.5},
        input_shape=(3, 2, 4),
        call_kwargs={"training": True},
        expected_output_shape=(3, 3),
        expected_num_trainable_weights=3,
        expected_num_non_trainable_weights=0,
    )
    run_layer_test(
        layers.LSTM,
        init_kwargs={"units": 3, "dropout": 0.5, "recurrent_dropout": 0.5},
        input_shape=(3, 2, 4),
        call_kwargs={"training": True},
        expected_output_shape=(3, 3),
        expected_num_trainable_weights=3,
        expected_num_non_trainable_weights=0,
    )
    run_layer_test(
        layers.LSTM,
        init_kwargs={
            "units": 3,
            "return_sequences": True,
            "bias_regularizer": "l1",
            "kernel_regularizer": "l2",
            "recurrent_regularizer": "l2",
        },
        input_shape=(3, 2, 4),
        expected_output_shape=(3, 2, 3),
        expected_num_losses=3,
        expected_num_trainable_weights=3,
        expected_num_non_trainable_weights=0,
    )


def _lstm(units, **kw):
    initializers = keras.initializers
    return layers.LSTM(
        units,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        **kw,
    )


# keras/src/layers/rnn/lstm_test.py::LSTMTest::test_correctness
@pytest.mark.parametrize("implementation", [1, 2])
def test_lstm_correctness(implementation):
    sequence = np.arange(72).reshape((3, 6, 4)).astype("float32")
    tol = dict(atol=1e-5, rtol=1e-5)
    output = _lstm(3, implementation=implementation)(sequence)
    assert_all_close(output, np.array([[0.6288687] * 3, [0.86899155] * 3,
                                       [0.9460773] * 3]), **tol)
    output = _lstm(3, go_backwards=True, implementation=implementation)(sequence)
    assert_all_close(output, np.array([[0.35622165] * 3, [0.74789524] * 3,
                                       [0.8872726] * 3]), **tol)
    output = _lstm(3, unroll=True, implementation=implementation)(sequence)
    assert_all_close(output, np.array([[0.6288687] * 3, [0.86899155] * 3,
                                       [0.9460773] * 3]), **tol)
    output = _lstm(3, unit_forget_bias=False, implementation=implementation)(sequence)
    assert_all_close(output, np.array([[0.57019705] * 3, [0.8661914] * 3,
                                       [0.9459622] * 3]), **tol)
    output = _lstm(3, use_bias=False, implementation=implementation)(sequence)
    assert_all_close(output, np.array([[0.54986924] * 3, [0.86226785] * 3,
                                       [0.9443936] * 3]), **tol)


# keras/src/layers/rnn/lstm_test.py::LSTMTest::test_statefulness
def test_lstm_statefulness():
    sequence = np.arange(24).reshape((2, 3, 4)).astype("float32")
    layer = _lstm(4, stateful=True)
    layer(sequence)
    output = layer(sequence)
    expected = np.array([[0.3124785] * 4, [0.6863672] * 4])
    assert_all_close(output, expected, atol=1e-5, rtol=1e-5)
    layer.reset_state()
    layer(sequence)
    output = layer(sequence)
    assert_all_close(output, expected, atol=1e-5, rtol=1e-5)


# keras/src/layers/rnn/lstm_test.py::LSTMTest::test_pass_initial_state
def test_lstm_pass_initial_state():
    sequence = np.arange(24).reshape((2, 4, 3)).astype("float32")
    initial_state = [
        np.arange(4).reshape((2, 2)).astype("float32"),
        np.arange(4).reshape((2, 2)).astype("float32"),
    ]
    output = _lstm(2)(sequence, initial_state=initial_state)
    assert_all_close(output, np.array([[0.20574439, 0.3558822],
                                       [0.64930826, 0.66276]]), atol=1e-5, rtol=1e-5)
    output = _lstm(2, go_backwards=True)(sequence, initial_state=initial_state)
    assert_all_close(output, np.array([[0.13281618, 0.2790356],
                                       [0.5839337, 0.5992567]]), atol=1e-5, rtol=1e-5)


# keras/src/layers/rnn/lstm_test.py::LSTMTest::test_masking
def test_lstm_masking():
    sequence = np.arange(24).reshape((2, 4, 3)).astype("float32")
    mask = np.array([[True, True, True, False], [True, True, False, False]])
    tol = dict(atol=1e-5, rtol=1e-5)
    output = _lstm(2, unroll=True)(sequence, mask=mask)
    assert_all_close(output, np.array([[0.11755939, 0.11755939],
                                       [0.28556206, 0.28556206]]), **tol)
    output = _lstm(2, return_sequences=True)(sequence, mask=mask)
    assert_all_close(output[0], np.array([[0.01588910] * 2, [0.05552048] * 2,
                                          [0.11755939] * 2, [0.11755939] * 2]), **tol)
    assert_all_close(output[1], np.array([[0.14185596] * 2, [0.28556206] * 2,
                                          [0.28556206] * 2, [0.28556206] * 2]), **tol)
    output = _lstm(2, return_sequences=True, zero_output_for_mask=True)(
        sequence, mask=mask)
    assert_all_close(output[0], np.array([[0.01588910] * 2, [0.05552048] * 2,
                                          [0.11755939] * 2, [0.0, 0.0]]), **tol)
    assert_all_close(output[1], np.array([[0.14185596] * 2, [0.28556206] * 2,
                                          [0.0, 0.0], [0.0, 0.0]]), **tol)

    backwards_mask = np.array([[False, True, True, True], [False, False, True, True]])
    output = _lstm(2, go_backwards=True)(sequence, mask=backwards_mask)
    assert_all_close(output, np.array([[0.15341201, 0.15341201],
                                       [0.3844719, 0.3844719]]), **tol)


# ------------------------------------------------- layers/regularization/dropout_test.py

# keras/src/layers/regularization/dropout_test.py::DropoutTest::test_dropout_basics
def test_dropout_basics():
    run_layer_test(
        layers.Dropout,
        init_kwargs={"rate": 0.2},
        input_shape=(2, 3),
        call_kwargs={"training": True},
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
        expected_num_losses=0,
    )


# keras/src/layers/regularization/dropout_test.py::DropoutTest::test_dropout_rescaling
def test_dropout_rescaling():
    inputs = np.ones((20, 500))
    layer = layers.Dropout(0.5, seed=1337)
    outputs = layer(inputs, training=True)
    outputs = ops.convert_to_numpy(outputs)
    assert_all_close(np.mean(outputs), 1.0, atol=0.02)
    assert_all_close(np.max(outputs), 2.0)


# keras/src/layers/regularization/dropout_test.py::DropoutTest::test_dropout_negative_rate
def test_dropout_negative_rate():
    with pytest.raises(ValueError, match="Invalid value received for argument `rate`. "
                       "Expected a float value between 0 and 1."):
        _ = layers.Dropout(rate=-0.5)


# keras/src/layers/regularization/dropout_test.py::DropoutTest::test_dropout_rate_greater_than_one
def test_dropout_rate_greater_than_one():
    with pytest.raises(ValueError, match="Invalid value received for argument `rate`. "
                       "Expected a float value between 0 and 1."):
        _ = layers.Dropout(rate=1.5)


# keras/src/layers/regularization/dropout_test.py::DropoutTest::test_validate_noise_shape_none
def test_dropout_validate_noise_shape_none():
    layer = layers.Dropout(0.5, noise_shape=None)
    assert layer.noise_shape is None


# keras/src/layers/regularization/dropout_test.py::
#   DropoutTest::test_dropout_partial_noise_shape_dynamic
def test_dropout_partial_noise_shape_dynamic():
    inputs = np.ones((20, 5, 10))
    layer = layers.Dropout(0.5, noise_shape=(None, 1, None))
    outputs = layer(inputs, training=True)
    assert_all_close(outputs[:, 0, :], outputs[:, 1, :])


# keras/src/layers/regularization/dropout_test.py::
#   DropoutTest::test_dropout_partial_noise_shape_static
def test_dropout_partial_noise_shape_static():
    inputs = np.ones((20, 5, 10))
    layer = layers.Dropout(0.5, noise_shape=(20, 1, 10))
    outputs = layer(inputs, training=True)
    assert_all_close(outputs[:, 0, :], outputs[:, 1, :])


# keras/src/layers/regularization/dropout_test.py::
#   DropoutTest::test_validate_noise_shape_integer_tuple
def test_dropout_validate_noise_shape_integer_tuple():
    layer = layers.Dropout(0.5, noise_shape=(20, 1, 10))
    assert layer.noise_shape == (20, 1, 10)


# keras/src/layers/regularization/dropout_test.py::
#   DropoutTest::test_validate_noise_shape_cast_to_a_tuple
def test_dropout_validate_noise_shape_cast_to_a_tuple():
    layer = layers.Dropout(0.5, noise_shape=[20, 1, 10])
    assert layer.noise_shape == (20, 1, 10)
    assert isinstance(layer.noise_shape, tuple)


# keras/src/layers/regularization/dropout_test.py::
#   DropoutTest::test_validate_noise_shape_non_iterable
def test_dropout_validate_noise_shape_non_iterable():
    with pytest.raises(ValueError, match="Invalid value received for argument `noise_shape`. "
                       "Expected a tuple or list of integers."):
        layers.Dropout(0.5, noise_shape="Invalid")


# keras/src/layers/regularization/dropout_test.py::
#   DropoutTest::test_validate_noise_shape_invalid_type
def test_dropout_validate_noise_shape_invalid_type():
    with pytest.raises(ValueError, match="Invalid value received for argument `noise_shape`. "
                       "Expected all elements to be integers or None."):
        layers.Dropout(0.5, noise_shape=(20, 1.5, 10))


# keras/src/layers/regularization/dropout_test.py::
#   DropoutTest::test_validate_noise_shape_negative_value
def test_dropout_validate_noise_shape_negative_value():
    with pytest.raises(ValueError, match="Invalid value received for argument `noise_shape`. "
                       "Expected all dimensions to be positive integers or None."):
        layers.Dropout(0.5, noise_shape=(20, -1, 10))


# --------------------------------------------------------- layers/reshaping/*_test.py

# keras/src/layers/reshaping/cropping1d_test.py::Cropping1DTest::test_cropping_1d
def test_cropping_1d():
    inputs = np.random.rand(3, 5, 7)
    for cropping, sl in [((1, 2), slice(1, 3)), ((1, 1), slice(1, 4)), (1, slice(1, 4)),
                         ((0, 1), slice(0, 4)), ((1, 0), slice(1, 5))]:
        run_layer_test(layers.Cropping1D, init_kwargs={"cropping": cropping},
                       input_data=inputs,
                       expected_output=ops.convert_to_tensor(inputs[:, sl, :]))


# keras/src/layers/reshaping/cropping1d_test.py::
#   Cropping1DTest::test_cropping_1d_errors_if_cropping_argument_invalid
def test_cropping_1d_errors_if_cropping_argument_invalid():
    with pytest.raises(ValueError):
        layers.Cropping1D(cropping=(1,))
    with pytest.raises(ValueError):
        layers.Cropping1D(cropping=(1, 2, 3))
    with pytest.raises(ValueError):
        layers.Cropping1D(cropping="1")


# keras/src/layers/reshaping/cropping1d_test.py::
#   Cropping1DTest::test_cropping_1d_errors_if_cropping_more_than_available
def test_cropping_1d_errors_if_cropping_more_than_available():
    with pytest.raises(ValueError, match="`cropping` parameter of `Cropping1D` layer "
                       "must be smaller than"):
        input_layer = layers.Input(batch_shape=(3, 5, 7))
        layers.Cropping1D(cropping=(2, 3))(input_layer)


# keras/src/layers/reshaping/cropping1d_test.py::
#   Cropping1DTest::test_cropping_1d_error_on_excessive_cropping
def test_cropping_1d_error_on_excessive_cropping():
    inputs = np.random.rand(3, 5, 7)
    with pytest.raises(ValueError, match="`cropping` parameter of `Cropping1D` layer "
                       "must be smaller than"):
        layer = layers.Cropping1D(cropping=(3, 3))
        _ = layer(inputs)


# keras/src/layers/reshaping/flatten_test.py::FlattenTest::test_flatten (dense case)
def test_flatten():
    inputs = np.random.random((10, 3, 5, 5)).astype("float32")
    inputs = np.multiply(inputs, inputs >= 0.8)
    expected_output_channels_last = ops.convert_to_tensor(
        np.reshape(inputs, (-1, 5 * 5 * 3)))
    run_layer_test(layers.Flatten, init_kwargs={}, input_data=inputs,
                   expected_output=expected_output_channels_last)
    run_layer_test(layers.Flatten, init_kwargs={"data_format": "channels_last"},
                   input_data=inputs, expected_output=expected_output_channels_last)


# keras/src/layers/reshaping/flatten_test.py::FlattenTest::test_flatten_with_scalar_channels
def test_flatten_with_scalar_channels():
    inputs = np.random.random((10,)).astype("float32")
    expected_output = ops.convert_to_tensor(np.expand_dims(inputs, -1))
    run_layer_test(layers.Flatten, init_kwargs={}, input_data=inputs,
                   expected_output=expected_output)
    run_layer_test(layers.Flatten, init_kwargs={"data_format": "channels_last"},
                   input_data=inputs, expected_output=expected_output)


# keras/src/layers/reshaping/flatten_test.py::
#   FlattenTest::test_flatten_symbolic_with_dynamic_batch_size
def test_flatten_symbolic_with_dynamic_batch_size():
    input_layer = layers.Input(batch_shape=(None, 2, 3))
    flattened = layers.Flatten()(input_layer)
    assert flattened.shape == (None, 2 * 3)


# keras/src/layers/reshaping/permute_test.py::PermuteTest::test_permute (dense case)
def test_permute():
    inputs = np.random.random((10, 3, 5, 5)).astype("float32")
    inputs = np.multiply(inputs, inputs >= 0.8)
    expected_output = ops.convert_to_tensor(np.transpose(inputs, axes=(0, 3, 1, 2)))
    run_layer_test(layers.Permute, init_kwargs={"dims": (3, 1, 2)}, input_data=inputs,
                   expected_output=expected_output)


# keras/src/layers/reshaping/permute_test.py::PermuteTest::test_permute_with_dynamic_batch_size
def test_permute_with_dynamic_batch_size():
    input_layer = layers.Input(batch_shape=(None, 3, 5))
    permuted = layers.Permute((2, 1))(input_layer)
    assert permuted.shape == (None, 5, 3)


# keras/src/layers/reshaping/permute_test.py::
#   PermuteTest::test_permute_errors_on_invalid_starting_dims_index
def test_permute_errors_on_invalid_starting_dims_index():
    with pytest.raises(ValueError, match=r"Invalid permutation .*dims.*"):
        run_layer_test(layers.Permute, init_kwargs={"dims": (0, 1, 2)},
                       input_shape=(3, 2, 4))


# keras/src/layers/reshaping/permute_test.py::
#   PermuteTest::test_permute_errors_on_invalid_set_of_dims_indices
def test_permute_errors_on_invalid_set_of_dims_indices():
    with pytest.raises(ValueError, match=r"Invalid permutation .*dims.*"):
        run_layer_test(layers.Permute, init_kwargs={"dims": (1, 4, 2)},
                       input_shape=(3, 2, 4))


# keras/src/layers/reshaping/repeat_vector_test.py::FlattenTest::test_repeat_vector
def test_repeat_vector():
    inputs = np.random.random((2, 5)).astype("float32")
    expected_output = ops.convert_to_tensor(
        np.repeat(np.reshape(inputs, (2, 1, 5)), 3, axis=1))
    run_layer_test(layers.RepeatVector, init_kwargs={"n": 3}, input_data=inputs,
                   expected_output=expected_output)


# keras/src/layers/reshaping/repeat_vector_test.py::
#   FlattenTest::test_repeat_vector_with_dynamic_batch_size
def test_repeat_vector_with_dynamic_batch_size():
    input_layer = layers.Input(batch_shape=(None, 5))
    repeated = layers.RepeatVector(n=3)(input_layer)
    assert repeated.shape == (None, 3, 5)


# keras/src/layers/reshaping/repeat_vector_test.py::FlattenTest::test_repeat_vector_with_invalid_n
def test_repeat_vector_with_invalid_n():
    for n in ("3", 3.5, [3]):
        with pytest.raises(TypeError, match="Expected an integer value for `n`"):
            layers.RepeatVector(n=n)


# keras/src/layers/reshaping/repeat_vector_test.py::
#   FlattenTest::test_repeat_vector_with_non_positive_n
def test_repeat_vector_with_non_positive_n():
    for n in (0, -3):
        with pytest.raises(ValueError, match="should be a positive integer"):
            layers.RepeatVector(n=n)


# keras/src/layers/reshaping/reshape_test.py::ReshapeTest::test_reshape (dense case)
def test_reshape():
    for target, in_shape, out_shape in [((8, 1), (3, 2, 4), (3, 8, 1)),
                                        ((8,), (3, 2, 4), (3, 8)),
                                        ((2, 4), (3, 8), (3, 2, 4)),
                                        ((-1, 1), (3, 2, 4), (3, 8, 1)),
                                        ((1, -1), (3, 2, 4), (3, 1, 8)),
                                        ((-1,), (3, 2, 4), (3, 8)),
                                        ((2, -1), (3, 2, 4), (3, 2, 4))]:
        run_layer_test(layers.Reshape, init_kwargs={"target_shape": target},
                       input_shape=in_shape, expected_output_shape=out_shape)


# keras/src/layers/reshaping/reshape_test.py::ReshapeTest::test_reshape_with_dynamic_batch_size
def test_reshape_with_dynamic_batch_size():
    input_layer = layers.Input(shape=(2, 4))
    reshaped = layers.Reshape((8,))(input_layer)
    assert reshaped.shape == (None, 8)


# keras/src/layers/reshaping/reshape_test.py::ReshapeTest::test_reshape_rejects_invalid_target_shape
def test_reshape_rejects_invalid_target_shape():
    with pytest.raises(ValueError, match="non-negative integer.*-1.*target_shape=\\(-2, 5\\)"):
        layers.Reshape(target_shape=(-2, 5))
    with pytest.raises(ValueError, match="at most one unknown dimension.*"
                       "target_shape=\\(-1, -1, 5\\)"):
        layers.Reshape(target_shape=(-1, -1, 5))


# keras/src/layers/reshaping/reshape_test.py::
#   ReshapeTest::test_reshape_layer_with_varying_input_size_and_minus_one
def test_reshape_layer_with_varying_input_size_and_minus_one():
    layer = layers.Reshape((-1, 8))
    res = layer(ops.ones((1, 6, 4), dtype="float32"))
    assert res.shape == (1, 3, 8)
    res = layer(ops.ones((1, 10, 4), dtype="float32"))
    assert res.shape == (1, 5, 8)


# keras/src/layers/reshaping/up_sampling1d_test.py::UpSamplingTest::test_upsampling_1d
def test_upsampling_1d():
    run_layer_test(layers.UpSampling1D, init_kwargs={"size": 2}, input_shape=(3, 5, 4),
                   expected_output_shape=(3, 10, 4), expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, expected_num_losses=0)


# keras/src/layers/reshaping/up_sampling1d_test.py::UpSamplingTest::test_upsampling_1d_correctness
def test_upsampling_1d_correctness():
    assert_all_close(
        layers.UpSampling1D(size=2)(np.arange(12).reshape((2, 2, 3))),
        np.array([[[0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [3.0, 4.0, 5.0]],
                  [[6.0, 7.0, 8.0], [6.0, 7.0, 8.0], [9.0, 10.0, 11.0],
                   [9.0, 10.0, 11.0]]]))


# keras/src/layers/reshaping/up_sampling1d_test.py::
#   UpSamplingTest::test_upsampling_1d_correctness_with_ones
def test_upsampling_1d_correctness_with_ones():
    assert_all_close(layers.UpSampling1D(size=3)(np.ones((2, 1, 5))), np.ones((2, 3, 5)))


# keras/src/layers/reshaping/up_sampling1d_test.py::
#   UpSamplingTest::test_upsampling_1d_with_dynamic_batch_size
def test_upsampling_1d_with_dynamic_batch_size():
    x = keras.KerasTensor([None, 2, 3])
    assert layers.UpSampling1D(size=2)(x).shape == (None, 4, 3)
    assert layers.UpSampling1D(size=4)(x).shape == (None, 8, 3)


# keras/src/layers/reshaping/zero_padding1d_test.py::ZeroPadding1DTest::test_zero_padding_1d
@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_zero_padding_1d(data_format):
    inputs = np.random.rand(1, 2, 3)
    outputs = layers.ZeroPadding1D(padding=(1, 2), data_format=data_format)(inputs)
    if data_format == "channels_last":
        for index in [0, -1, -2]:
            assert_all_close(outputs[:, index, :], 0.0)
        assert_all_close(outputs[:, 1:-2, :], inputs)
    else:
        for index in [0, -1, -2]:
            assert_all_close(outputs[:, :, index], 0.0)
        assert_all_close(outputs[:, :, 1:-2], inputs)


# keras/src/layers/reshaping/zero_padding1d_test.py::
#   ZeroPadding1DTest::test_zero_padding_1d_with_same_padding
@pytest.mark.parametrize("padding", [(2, 2), 2])
def test_zero_padding_1d_with_same_padding(padding):
    inputs = np.random.rand(1, 2, 3)
    outputs = layers.ZeroPadding1D(padding=padding, data_format="channels_last")(inputs)
    for index in [0, 1, -1, -2]:
        assert_all_close(outputs[:, index, :], 0.0)
    assert_all_close(outputs[:, 2:-2, :], inputs)


# ----------------------------------------------------------- layers/pooling/*_test.py

# keras/src/layers/pooling/max_pooling_test.py::MaxPoolingCorrectnessTest::test_max_pooling1d
@pytest.mark.parametrize("pool_size,strides,padding,data_format", [
    (2, 1, "valid", "channels_last"), (2, 1, "valid", "channels_first"),
    (2, 1, "same", "channels_last"), (2, 1, "same", "channels_first"),
    ((2,), (2,), "valid", "channels_last"), ((2,), (2,), "valid", "channels_first")])
def test_max_pooling1d(pool_size, strides, padding, data_format):
    inputs = np.arange(24, dtype="float32").reshape((2, 3, 4))
    layer = layers.MaxPooling1D(pool_size=pool_size, strides=strides, padding=padding,
                                data_format=data_format)
    outputs = layer(inputs)
    expected = np_maxpool1d(inputs, pool_size, strides, padding, data_format)
    assert_all_close(outputs, expected)


# keras/src/layers/pooling/max_pooling_test.py::MaxPoolingCorrectnessTest::test_max_pooling2d
@pytest.mark.parametrize("pool_size,strides,padding,data_format", [
    (2, 1, "valid", "channels_last"), (2, 1, "valid", "channels_first"),
    ((2, 2), (2, 2), "same", "channels_last"), ((2, 2), (2, 2), "same", "channels_first"),
    ((2, 3), (3, 3), "same", "channels_last")])
def test_max_pooling2d(pool_size, strides, padding, data_format):
    inputs = np.arange(100, dtype="float32").reshape((1, 5, 5, 4))
    layer = layers.MaxPooling2D(pool_size=pool_size, strides=strides, padding=padding,
                                data_format=data_format)
    outputs = layer(inputs)
    expected = np_maxpool2d(inputs, pool_size, strides, padding, data_format)
    assert_all_close(outputs, expected)


# keras/src/layers/pooling/max_pooling_test.py::MaxPoolingCorrectnessTest::test_max_pooling3d
@pytest.mark.parametrize("pool_size,strides,padding,data_format", [
    (2, 1, "valid", "channels_last"), (2, 1, "same", "channels_first"),
    ((2, 3, 2), (2, 2, 1), "valid", "channels_last"),
    ((2, 3, 2), (2, 2, 1), "valid", "channels_first")])
def test_max_pooling3d(pool_size, strides, padding, data_format):
    inputs = np.arange(240, dtype="float32").reshape((2, 3, 4, 5, 2))
    layer = layers.MaxPooling3D(pool_size=pool_size, strides=strides, padding=padding,
                                data_format=data_format)
    outputs = layer(inputs)
    expected = np_maxpool3d(inputs, pool_size, strides, padding, data_format)
    assert_all_close(outputs, expected)


# keras/src/layers/pooling/average_pooling_test.py::
#   AveragePoolingCorrectnessTest::test_average_pooling1d
@pytest.mark.parametrize("pool_size,strides,padding,data_format", [
    (2, 1, "valid", "channels_last"), (2, 1, "valid", "channels_first"),
    ((2,), (2,), "valid", "channels_last"), ((2,), (2,), "valid", "channels_first")])
def test_average_pooling1d(pool_size, strides, padding, data_format):
    inputs = np.arange(24, dtype="float32").reshape((2, 3, 4))
    layer = layers.AveragePooling1D(pool_size=pool_size, strides=strides, padding=padding,
                                    data_format=data_format)
    outputs = layer(inputs)
    expected = np_avgpool1d(inputs, pool_size, strides, padding, data_format)
    assert_all_close(outputs, expected)


# keras/src/layers/pooling/average_pooling_test.py::
#   AveragePoolingCorrectnessTest::test_average_pooling2d
@pytest.mark.parametrize("pool_size,strides,padding,data_format", [
    (2, 1, "valid", "channels_last"), ((2, 3), (2, 2), "valid", "channels_last")])
def test_average_pooling2d(pool_size, strides, padding, data_format):
    inputs = np.arange(16, dtype="float32").reshape((1, 4, 4, 1))
    layer = layers.AveragePooling2D(pool_size=pool_size, strides=strides, padding=padding,
                                    data_format=data_format)
    outputs = layer(inputs)
    expected = np_avgpool2d(inputs, pool_size, strides, padding, data_format)
    assert_all_close(outputs, expected)


# keras/src/layers/pooling/global_average_pooling_test.py::
#   GlobalAveragePoolingCorrectnessTest::test_global_average_pooling1d
@pytest.mark.parametrize("data_format,keepdims", [
    ("channels_last", False), ("channels_last", True),
    ("channels_first", False), ("channels_first", True)])
def test_global_average_pooling1d(data_format, keepdims):
    def np_gap1d(x, data_format, keepdims, mask=None):
        steps_axis = 1 if data_format == "channels_last" else 2
        if mask is not None:
            mask = np.expand_dims(mask, 2 if data_format == "channels_last" else 1)
            x *= mask
            res = np.sum(x, axis=steps_axis) / np.sum(mask, axis=steps_axis)
        else:
            res = np.mean(x, axis=steps_axis)
        if keepdims:
            res = np.expand_dims(res, axis=steps_axis)
        return res

    inputs = np.arange(24, dtype="float32").reshape((2, 3, 4))
    layer = layers.GlobalAveragePooling1D(data_format=data_format, keepdims=keepdims)
    outputs = layer(inputs)
    expected = np_gap1d(inputs, data_format, keepdims)
    assert_all_close(outputs, expected)

    if data_format == "channels_last":
        mask = np.array([[1, 1, 0], [0, 1, 0]], dtype="int32")
    else:
        mask = np.array([[1, 1, 0, 0], [0, 1, 0, 1]], dtype="int32")
    outputs = layer(inputs, mask)
    expected = np_gap1d(inputs, data_format, keepdims, mask)
    assert_all_close(outputs, expected)


# keras/src/layers/pooling/global_max_pooling_test.py::
#   GlobalMaxPoolingCorrectnessTest::test_global_max_pooling1d
@pytest.mark.parametrize("data_format,keepdims", [
    ("channels_last", False), ("channels_last", True),
    ("channels_first", False), ("channels_first", True)])
def test_global_max_pooling1d(data_format, keepdims):
    def np_global_max_pool1d(x, data_format, keepdims):
        steps_axis = [1] if data_format == "channels_last" else [2]
        res = np.apply_over_axes(np.max, x, steps_axis)
        if not keepdims:
            res = res.squeeze()
        return res

    inputs = np.arange(24, dtype="float32").reshape((2, 3, 4))
    layer = layers.GlobalMaxPooling1D(data_format=data_format, keepdims=keepdims)
    outputs = layer(inputs)
    expected = np_global_max_pool1d(inputs, data_format, keepdims)
    assert_all_close(outputs, expected)


# keras/src/layers/pooling/adaptive_pooling2d_test.py::
#   AdaptivePooling2DLayerTest::test_average_pooling2d_numerical
def test_adaptive_average_pooling2d_numerical():
    inputs = np.array([[[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0],
                         [9.0, 10.0, 11.0, 12.0], [13.0, 14.0, 15.0, 16.0]]]],
                      dtype="float32")
    expected = np.array([[[[3.5, 5.5], [11.5, 13.5]]]], dtype="float32")
    layer = layers.AdaptiveAveragePooling2D(output_size=2, data_format="channels_first")
    outputs = layer(inputs)
    assert_all_close(outputs, expected, atol=1e-4)


# ------------------------------------ layers/normalization/batch_normalization_test.py

# keras/src/layers/normalization/batch_normalization_test.py::BatchNormalizationTest::test_bn_basics
def test_bn_basics():
    run_layer_test(layers.BatchNormalization, init_kwargs={"center": True, "scale": True},
                   call_kwargs={"training": True}, input_shape=(2, 3),
                   expected_output_shape=(2, 3), expected_num_trainable_weights=2,
                   expected_num_non_trainable_weights=2, expected_num_losses=0)
    run_layer_test(layers.BatchNormalization, init_kwargs={"center": False, "scale": False},
                   call_kwargs={"training": True}, input_shape=(2, 3),
                   expected_output_shape=(2, 3), expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=2, expected_num_losses=0)
    run_layer_test(layers.BatchNormalization,
                   init_kwargs={"center": True, "scale": True, "beta_regularizer": "l2",
                                "gamma_regularizer": "l2"},
                   call_kwargs={"training": True}, input_shape=(2, 4, 4, 3),
                   expected_output_shape=(2, 4, 4, 3), expected_num_trainable_weights=2,
                   expected_num_non_trainable_weights=2,
                   expected_num_losses=2)  # we have 2 regularizers.


def assert_not_all_close(x1, x2, atol=1e-6, rtol=1e-6):
    try:
        assert_all_close(x1, x2, atol=atol, rtol=rtol)
    except AssertionError:
        return
    raise AssertionError("the two values are close")


# keras/src/layers/normalization/batch_normalization_test.py::
#   BatchNormalizationTest::test_correctness
@pytest.mark.parametrize("axis", [-1, 1])
@pytest.mark.parametrize("input_shape", [(5, 2, 3), (5, 3, 3, 2)])
@pytest.mark.parametrize("moving_mean_initializer", ["zeros", "ones"])
@pytest.mark.parametrize("moving_variance_initializer", ["zeros", "ones"])
def test_bn_correctness(axis, input_shape, moving_mean_initializer,
                        moving_variance_initializer):
    layer = layers.BatchNormalization(axis=axis, momentum=0,
                                      moving_mean_initializer=moving_mean_initializer,
                                      moving_variance_initializer=moving_variance_initializer)
    x = np.random.normal(loc=5.0, scale=10.0, size=input_shape)
    out = x
    for _ in range(3):
        out = layer(out, training=True)
    broadcast_shape = [1] * len(input_shape)
    broadcast_shape[axis] = input_shape[axis]
    out = ops.convert_to_numpy(out)
    out = out - np.reshape(ops.convert_to_numpy(layer.beta), broadcast_shape)
    out = out / np.reshape(ops.convert_to_numpy(layer.gamma), broadcast_shape)
    reduction_axes = list(range(len(input_shape)))
    del reduction_axes[axis]
    reduction_axes = tuple(reduction_axes)
    assert_all_close(np.mean(out, axis=reduction_axes), 0.0, atol=1e-3)
    assert_all_close(np.std(out, axis=reduction_axes), 1.0, atol=1e-3)
    assert_all_close(layer.moving_mean, 0.0, atol=1e-3)
    assert_all_close(layer.moving_variance, 1.0, atol=1e-3)

    inference_out = layer(x, training=False)
    training_out = layer(x, training=True)
    assert_not_all_close(inference_out, training_out)

    training_out = layer(x, training=True)
    inference_out = layer(x, training=False)
    assert_all_close(inference_out, training_out)

    x[:, 1, :] = 0.0
    unmasked_out = layer(x, training=False)
    masked = layers.Masking()(x)
    masked_out = layer(masked, training=False)
    assert_all_close(unmasked_out, masked_out)

    unmasked_out = layer(x, training=False)
    x[:, 1, :] = 0.0
    masked = layers.Masking()(x)
    masked_out = layer(masked, training=True)
    assert_not_all_close(unmasked_out, masked_out)


# keras/src/layers/normalization/batch_normalization_test.py::
#   BatchNormalizationTest::test_trainable_behavior
def test_bn_trainable_behavior():
    layer = layers.BatchNormalization(axis=-1, momentum=0.8, epsilon=1e-7)
    layer.build((1, 4, 4, 3))
    layer.trainable = False
    assert len(layer.weights) == 4
    assert len(layer.trainable_weights) == 0
    assert len(layer.non_trainable_weights) == 4
    x = np.random.normal(loc=5.0, scale=10.0, size=(200, 4, 4, 3))
    out = layer(x, training=True)
    assert_all_close(out, x)
    layer.trainable = True
    assert len(layer.weights) == 4
    assert len(layer.trainable_weights) == 2
    assert len(layer.non_trainable_weights) == 2
    for _ in range(10):
        out = layer(x, training=True)
    out = ops.convert_to_numpy(out)
    out = out - np.reshape(ops.convert_to_numpy(layer.beta), (1, 1, 1, 3))
    out = out / np.reshape(ops.convert_to_numpy(layer.gamma), (1, 1, 1, 3))
    assert_all_close(np.mean(out, axis=(0, 1, 2)), 0.0, atol=1e-3)
    assert_all_close(np.std(out, axis=(0, 1, 2)), 1.0, atol=1e-3)


# ------------------------------------------------------- models/sequential_test.py

# keras/src/models/sequential_test.py::SequentialTest::test_basic_flow_with_input
def test_sequential_basic_flow_with_input():
    Sequential, Input = keras.Sequential, keras.Input
    model = Sequential(name="seq")
    model.add(Input(shape=(2,), batch_size=3))
    model.add(layers.Dense(4))
    model.add(layers.Dense(5))
    model.summary()
    assert len(model.layers) == 2
    assert model.built
    assert len(model.weights) == 4
    x = np.random.random((3, 2))
    y = model(x)
    # (Keras' check of the private model._functional is left out)
    assert y.shape == (3, 5)
    x = keras.KerasTensor((3, 2))
    y = model(x)
    assert y.shape == (3, 5)
    model = Sequential(layers=[Input(shape=(2,), batch_size=3), layers.Dense(4),
                               layers.Dense(5)])
    assert len(model.layers) == 2
    assert model.built
    assert len(model.weights) == 4
    x = np.random.random((3, 2))
    y = model(x)
    assert y.shape == (3, 5)
    model.pop()
    assert len(model.layers) == 1
    assert model.built
    assert len(model.weights) == 2
    x = np.random.random((3, 2))
    y = model(x)
    assert y.shape == (3, 4)


# keras/src/models/sequential_test.py::SequentialTest::test_basic_flow_deferred
def test_sequential_basic_flow_deferred():
    Sequential = keras.Sequential
    model = Sequential(name="seq")
    model.add(layers.Dense(4))
    model.add(layers.Dense(5))
    model.summary()
    assert len(model.layers) == 2
    x = np.random.random((3, 2))
    y = model(x)
    assert model.built
    model.summary()
    assert y.shape == (3, 5)
    x = keras.KerasTensor((3, 2))
    y = model(x)
    assert y.shape == (3, 5)
    model = Sequential(layers=[layers.Dense(4), layers.Dense(5)])
    x = np.random.random((3, 2))
    y = model(x)
    assert y.shape == (3, 5)
    model.pop()
    assert len(model.layers) == 1
    assert model.built
    assert len(model.weights) == 2
    x = np.random.random((3, 2))
    y = model(x)
    assert y.shape == (3, 4)


# keras/src/models/sequential_test.py::
#   SequentialTest::test_basic_flow_with_sequential_model_as_first_layer
def test_sequential_basic_flow_with_sequential_model_as_first_layer():
    Sequential, Input = keras.Sequential, keras.Input
    sequential_model = Sequential([Input((16, 16, 3)), layers.Conv2D(4, 3, padding="same")])
    model = Sequential([sequential_model, layers.Flatten(), layers.Dense(1)])
    model.summary()
    assert len(model.layers) == 3
    assert model.built
    for layer in model.layers:
        assert layer.built
    x = np.random.random((1, 16, 16, 3))
    y = model(x)
    assert tuple(y.shape) == (1, 1)
    x = keras.KerasTensor((1, 16, 16, 3))
    y = model(x)
    assert y.shape == (1, 1)


# keras/src/models/sequential_test.py::SequentialTest::test_nested_sequential
def test_sequential_nested_sequential():
    model = keras.Sequential()
    model.add(keras.Input(shape=(16,)))
    keras.Sequential([model])


# keras/src/models/sequential_test.py::SequentialTest::test_errors
def test_sequential_errors():
    Sequential, Input = keras.Sequential, keras.Input
    model = Sequential()
    model.add(Input(shape=(2,), batch_size=3))
    with pytest.raises(ValueError, match="already been configured"):
        model.add(Input(shape=(2,), batch_size=3))
    with pytest.raises(ValueError, match="already been configured"):
        model.add(layers.InputLayer(shape=(2,), batch_size=3))
    model = Sequential()
    model.add(layers.Dense(2, name="dense"))
    with pytest.raises(ValueError, match="should have unique names"):
        model.add(layers.Dense(2, name="dense"))
    model = Sequential()
    x = np.random.random((3, 2))
    # adapted: an empty Sequential is also torch's nn.Sequential, the identity there
    # (docs/from-keras.md, "Keras' own tests"); Keras raises ValueError "no layers"
    assert_all_close(model(x), x)
    model = Sequential()
    model.add(Input(shape=(2,), batch_size=3))
    model.add(layers.Dense(2))
    with pytest.raises(ValueError, match="already been configured"):
        model.build((3, 4))
    model.build((3, 2))


# keras/src/models/sequential_test.py::SequentialTest::test_compute_output_shape
def test_sequential_compute_output_shape():
    layer = keras.Sequential([layers.Dense(4), layers.Dense(8)])
    output_shape = layer.compute_output_shape((1, 2))
    assert output_shape == (1, 8)


# keras/src/models/sequential_test.py::SequentialTest::test_hasattr
def test_sequential_hasattr():
    model = keras.Sequential()
    assert not hasattr(model, "input_shape")
    assert not hasattr(model, "output_shape")
    assert not hasattr(model, "inputs")
    assert not hasattr(model, "outputs")
    model = keras.Sequential([layers.Input((4,)), layers.Dense(8)])
    assert hasattr(model, "input_shape")
    assert hasattr(model, "output_shape")
    assert hasattr(model, "inputs")
    assert hasattr(model, "outputs")


# keras/src/models/sequential_test.py::SequentialTest::test_layers_setter
def test_sequential_layers_setter():
    model = keras.Sequential()
    with pytest.raises(AttributeError, match=r"Use `add\(\)` and `pop\(\)`"):
        model.layers = [layers.Dense(4)]


# -------------------------------------------------------- models/functional_test.py
# (Keras' Functional class is keras.Model called with inputs and outputs)

# keras/src/models/functional_test.py::FunctionalTest::test_basic_flow_multi_input
def test_functional_basic_flow_multi_input():
    Input = keras.Input
    input_a = Input(shape=(3,), batch_size=2, name="input_a")
    input_b = Input(shape=(3,), batch_size=2, name="input_b")
    x = input_a + input_b
    x = layers.Dense(5)(x)
    outputs = layers.Dense(4)(x)
    model = keras.Model([input_a, input_b], outputs, name="basic")
    model.summary()
    assert model.name == "basic"
    assert isinstance(model, keras.Model)
    in_val = [np.random.random((2, 3)), np.random.random((2, 3))]
    out_val = model(in_val)
    assert out_val.shape == (2, 4)
    input_a_2 = Input(shape=(3,), batch_size=2, name="input_a_2")
    input_b_2 = Input(shape=(3,), batch_size=2, name="input_b_2")
    in_val = [input_a_2, input_b_2]
    out_val = model(in_val)
    assert out_val.shape == (2, 4)


# keras/src/models/functional_test.py::FunctionalTest::test_scalar_input
def test_functional_scalar_input():
    Input = keras.Input
    input_a = Input(shape=(3,), batch_size=2, name="input_a")
    input_b = Input(shape=(), batch_size=2, name="input_b")
    outputs = input_a + input_b[:, None]
    model = keras.Model([input_a, input_b], outputs)
    model.summary()
    in_val = [np.zeros((2, 3)), np.ones((2,))]
    out_val = model(in_val)
    assert_all_close(out_val, np.ones((2, 3)))


# keras/src/models/functional_test.py::FunctionalTest::test_mutable_state
def test_functional_mutable_state():
    inputs = keras.Input(shape=(3,), batch_size=2, name="input")
    x = layers.Dense(5)(inputs)
    outputs = layers.Dense(5)(x)
    model = keras.Model(inputs, outputs)
    model.extra_layer = layers.Dense(5)


# keras/src/models/functional_test.py::FunctionalTest::test_basic_flow_multi_output
def test_functional_basic_flow_multi_output():
    Input = keras.Input
    inputs = Input(shape=(3,), batch_size=2, name="input")
    x = layers.Dense(5)(inputs)
    output_a = layers.Dense(4)(x)
    output_b = layers.Dense(5)(x)
    model = keras.Model(inputs, [output_a, output_b])
    in_val = np.random.random((2, 3))
    out_val = model(in_val)
    assert isinstance(out_val, list)
    assert len(out_val) == 2
    assert out_val[0].shape == (2, 4)
    assert out_val[1].shape == (2, 5)
    out_val = model(Input(shape=(3,), batch_size=2))
    assert isinstance(out_val, list)
    assert len(out_val) == 2
    assert out_val[0].shape == (2, 4)
    assert out_val[1].shape == (2, 5)


# keras/src/models/functional_test.py::FunctionalTest::test_basic_flow_dict_io
def test_functional_basic_flow_dict_io():
    Input = keras.Input
    input_a = Input(shape=(3,), batch_size=2, name="a")
    input_b = Input(shape=(3,), batch_size=2, name="b")
    x = input_a + input_b
    x = layers.Dense(5)(x)
    outputs = layers.Dense(4)(x)
    with pytest.raises(ValueError, match="All `inputs` values must be KerasTensors"):
        model = keras.Model({"a": "input_a", "b": input_b}, outputs)
    with pytest.raises(ValueError, match="All `outputs` values must be KerasTensors"):
        model = keras.Model({"a": input_a, "b": input_b}, "outputs")
    model = keras.Model({"a": input_a, "b": input_b}, outputs)
    in_val = {"a": np.random.random((2, 3)), "b": np.random.random((2, 3))}
    out_val = model(in_val)
    assert out_val.shape == (2, 4)
    input_a_2 = Input(shape=(3,), batch_size=2)
    input_b_2 = Input(shape=(3,), batch_size=2)
    in_val = {"a": input_a_2, "b": input_b_2}
    out_val = model(in_val)
    assert out_val.shape == (2, 4)


# keras/src/models/functional_test.py::FunctionalTest::test_functional_input_shape_and_type
def test_functional_input_shape_and_type():
    input = layers.Input((1024, 4))  # noqa: A001
    conv = layers.Conv1D(32, 3)(input)
    model = keras.Model(input, conv)
    assert isinstance(model.input, keras.KerasTensor)
    assert model.input_shape == (None, 1024, 4)


# keras/src/models/functional_test.py::FunctionalTest::test_layer_getters
def test_functional_layer_getters():
    Input = keras.Input
    input_a = Input(shape=(3,), batch_size=2, name="input_a")
    input_b = Input(shape=(3,), batch_size=2, name="input_b")
    x = input_a + input_b
    x = layers.Dense(5, name="dense_1")(x)
    outputs = layers.Dense(4, name="dense_2")(x)
    model = keras.Model([input_a, input_b], outputs)
    assert len(model.layers) == 4
    # (Keras' check of the private model._operations is left out)
    assert model.get_layer(index=0).name == "input_a"
    assert model.get_layer(index=1).name == "input_b"
    assert model.get_layer(index=2).name == "dense_1"
    assert model.get_layer(index=3).name == "dense_2"
    assert model.get_layer(name="dense_1").name == "dense_1"


# keras/src/models/functional_test.py::FunctionalTest::test_training_arg
def test_functional_training_arg():
    class Canary(layers.Layer):
        def call(self, x, training=False):
            assert training
            return x

        def compute_output_spec(self, x, training=False):
            return keras.KerasTensor(x.shape, dtype=x.dtype)

    inputs = keras.Input(shape=(3,), batch_size=2)
    outputs = Canary()(inputs)
    model = keras.Model(inputs, outputs)
    model(np.random.random((2, 3)), training=True)


# ------------------------------------------ gradengine's own checks of two of the fixes

def test_huber_delta_kept_by_the_model_file(tmp_path):
    # Keras' Huber.get_config has no delta (matched above); the .keras file keeps it
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss=keras.losses.Huber(delta=2.5))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.loss.delta == 2.5
    assert keras.losses.Huber().get_config() == {"name": "huber_loss",
                                                 "reduction": "sum_over_batch_size"}


def test_layer_with_compute_output_spec_is_built_by_the_symbolic_call():
    # Keras builds a layer before its compute_output_spec: its weights exist at once
    class MatMul(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 2))

        def call(self, x):
            return ops.matmul(x, self.w)

        def compute_output_spec(self, x):
            return keras.KerasTensor(x.shape[:-1] + (2,), dtype=x.dtype)

    inputs = keras.Input((3,))
    outputs = MatMul()(inputs)
    model = keras.Model(inputs, outputs)
    assert outputs.shape == (None, 2)
    assert len(model.trainable_weights) == 1
    x = np.ones((4, 3), dtype="float32")
    assert_all_close(model(x, training=False), x @ ops.convert_to_numpy(model.weights[0]))
