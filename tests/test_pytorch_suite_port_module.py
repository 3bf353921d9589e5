"""Cases from PyTorch's test/test_nn.py (TestNN: the Module API), ported with
``import gradengine as torch``; see tests/test_pytorch_suite_port.py for the rules."""

from __future__ import annotations

import itertools

import pytest

import gradengine as torch
from gradengine import nn
from gradengine.nn import Parameter
from pytorch_port_util import assert_equal, assert_raises_regex


# test_nn.py TestNN.test_children
def test_children():
    l1 = nn.Linear(2, 2)
    l2 = nn.Linear(2, 2)
    l3 = nn.Linear(2, 2)
    l4 = nn.Linear(2, 2)
    subnet = nn.Sequential(l3, l4)
    s = nn.Sequential(l1, l2, l1, l2, subnet)
    assert_equal(list(s.children()), [l1, l2, subnet])


# test_nn.py TestNN.test_train_errors_for_invalid_mode
def test_train_errors_for_invalid_mode():
    class SubclassNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = nn.Linear(2, 2)

        def forward(self, inputs):
            return self.l1(inputs)

    subclass_net = SubclassNet()
    sequential_net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))

    error_modes = ["invalid_str", torch.device('cpu')]
    modules_to_check = [subclass_net, sequential_net]

    for error_mode, module in itertools.product(error_modes, modules_to_check):
        with pytest.raises(ValueError):
            module.train(error_mode)


# test_nn.py TestNN.test_dir
def test_dir():
    linear = nn.Linear(2, 2)
    linear._test_submodule = nn.Linear(2, 2)
    linear._test_parameter = Parameter(torch.empty(2, 2))
    linear.register_buffer('_test_buffer', torch.empty(2, 2))
    keys = dir(linear)
    assert '_test_submodule' in keys
    assert '_test_parameter' in keys
    assert '_test_buffer' in keys

    for key in keys:
        assert hasattr(linear, key)


# test_nn.py TestNN.test_repr
def test_repr():
    empty_sequential = nn.Sequential()
    expected_repr_empty = 'Sequential()'
    assert_equal(repr(empty_sequential), expected_repr_empty)

    linear = nn.Linear(1, 1)
    expected_repr_linear = 'Linear(in_features=1, out_features=1, bias=True)'
    assert_equal(repr(linear), expected_repr_linear)

    sequential = nn.Sequential(linear)
    expected_repr_sequential = 'Sequential(\n' \
        '  (0): Linear(in_features=1, out_features=1, bias=True)\n' \
        ')'
    assert_equal(repr(sequential), expected_repr_sequential)


# test_nn.py TestNN.test_dir_digit
def test_dir_digit():
    model = nn.Sequential(nn.Linear(2, 2))
    keys = dir(model)
    assert '0' not in keys


# test_nn.py TestNN.test_named_children
def test_named_children():
    l1 = nn.Linear(2, 2)
    l2 = nn.Linear(2, 2)
    l3 = nn.Linear(2, 2)
    l4 = nn.Linear(2, 2)
    subnet = nn.Sequential(l3, l4)
    s = nn.Sequential()
    with pytest.raises(KeyError):
        s.add_module('', l1)
    with pytest.raises(KeyError):
        s.add_module('name.with.dot', l1)
    s.add_module('layer1', l1)
    s.add_module('layer2', l2)
    s.add_module('layer3', l1)
    s.add_module('layer4', l2)
    s.add_module('subnet', subnet)
    assert_equal(list(s.named_children()), [('layer1', l1), ('layer2', l2), ('subnet', subnet)])


# test_nn.py TestNN.test_modules
def test_modules():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = l
            self.l2 = l
            self.param = torch.empty(3, 5)

    l = nn.Linear(10, 20)  # noqa: E741
    n = Net()
    s = nn.Sequential(n, n, n, n)
    assert_equal(list(s.modules()), [s, n, l])


# test_nn.py TestNN.test_named_modules
def test_named_modules():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = l
            self.l2 = l
            self.param = torch.empty(3, 5)
            self.block = block
    l = nn.Linear(10, 20)  # noqa: E741
    l1 = nn.Linear(10, 20)
    l2 = nn.Linear(10, 20)
    block = nn.Sequential()
    block.add_module('linear1', l1)
    block.add_module('linear2', l2)
    n = Net()
    s = nn.Sequential(n, n)
    assert_equal(list(s.named_modules()), [('', s), ('0', n), ('0.l1', l),
                                           ('0.block', block), ('0.block.linear1', l1),
                                           ('0.block.linear2', l2)])
    assert_equal(list(s.named_modules(remove_duplicate=False)), [
        ('', s), ('0', n), ('0.l1', l), ('0.l2', l),
        ('0.block', block), ('0.block.linear1', l1),
        ('0.block.linear2', l2),
        ('1', n), ('1.l1', l), ('1.l2', l),
        ('1.block', block), ('1.block.linear1', l1),
        ('1.block.linear2', l2)])


# test_nn.py TestNN.test_register_buffer_raises_error_if_name_is_not_string
def test_register_buffer_raises_error_if_name_is_not_string():
    m = nn.Module()
    expected_error = 'buffer name should be a string. Got '
    with assert_raises_regex(TypeError, expected_error + 'int'):
        m.register_buffer(1, torch.rand(5))
    with assert_raises_regex(TypeError, expected_error + 'NoneType'):
        m.register_buffer(None, torch.rand(5))


# test_nn.py TestNN.test_register_buffer_raises_error_if_attr_exists
def test_register_buffer_raises_error_if_attr_exists():
    m = nn.Module()
    m.attribute_name = 5
    with pytest.raises(KeyError):
        m.register_buffer('attribute_name', torch.rand(5))

    del m.attribute_name
    m.register_parameter('attribute_name', nn.Parameter())
    with pytest.raises(KeyError):
        m.register_buffer('attribute_name', torch.rand(5))

    del m.attribute_name
    m.add_module('attribute_name', nn.Module())
    with pytest.raises(KeyError):
        m.register_buffer('attribute_name', torch.rand(5))


# test_nn.py TestNN.test_register_buffer_raises_error_if_not_tensor
def test_register_buffer_raises_error_if_not_tensor():
    m = nn.Module()
    with pytest.raises(TypeError):
        m.register_buffer('attribute_name', 5)


# test_nn.py TestNN.test_register_buffer_allows_overwriting_with_same_name
def test_register_buffer_allows_overwriting_with_same_name():
    m = nn.Module()
    buffer1 = torch.rand(5)
    buffer2 = buffer1 + 5
    buffer3 = None
    m.register_buffer('buffer_name', buffer1)
    assert_equal(m.buffer_name, buffer1)
    m.register_buffer('buffer_name', buffer2)
    assert_equal(m.buffer_name, buffer2)
    m.register_buffer('buffer_name', buffer3)
    assert_equal(m.buffer_name, buffer3)


# test_nn.py TestNN.test_get_buffer
def test_get_buffer():
    m = nn.Module()
    buffer1 = torch.randn(2, 3)
    buffer2 = torch.randn(4, 5)
    m.register_buffer('foo', buffer1)
    m.register_buffer('bar', buffer2)
    assert_equal(buffer1, m.get_buffer('foo'))
    assert_equal(buffer2, m.get_buffer('bar'))


# test_nn.py TestNN.test_get_buffer_from_submodules
def test_get_buffer_from_submodules():
    class MyModule(nn.Module):
        def __init__(self, foo, bar):
            super().__init__()
            self.sub = Sub(foo, bar)

    class Sub(nn.Module):
        def __init__(self, foo, bar):
            super().__init__()
            self.register_buffer('foo', foo)
            self.subsub = SubSub(bar)

    class SubSub(nn.Module):
        def __init__(self, bar):
            super().__init__()
            self.register_buffer('bar', bar)

    foo = torch.randn(2, 3)
    bar = torch.randn(4, 5)
    m = MyModule(foo, bar)
    assert_equal(foo, m.get_buffer('sub.foo'))
    assert_equal(bar, m.get_buffer('sub.subsub.bar'))


# test_nn.py TestNN.test_buffer_not_persistent
def test_buffer_not_persistent():
    m = nn.Module()
    m.register_buffer('buf', torch.rand(5), persistent=False)
    assert len(list(m.buffers())) == 1
    assert len(m.state_dict()) == 0


# test_nn.py TestNN.test_buffer_not_persistent_del
def test_buffer_not_persistent_del():
    m = nn.Module()
    m.register_buffer('buf', torch.rand(5), persistent=False)
    del m.buf
    assert len(list(m.buffers())) == 0


# test_nn.py TestNN.test_buffer_not_persistent_overwrite
def test_buffer_not_persistent_overwrite():
    m = nn.Module()
    m.register_buffer('buf', torch.rand(5), persistent=False)
    m.register_buffer('buf', torch.rand(5))

    assert len(list(m.buffers())) == 1
    assert len(m.state_dict()) == 1

    m.register_buffer('buf', torch.rand(5), persistent=False)
    assert len(list(m.buffers())) == 1
    assert len(m.state_dict()) == 0


# test_nn.py TestNN.test_buffer_not_persistent_assign
def test_buffer_not_persistent_assign():
    m = nn.Module()
    m.register_buffer('buf', torch.rand(5), persistent=False)

    m.buf = None
    assert len(list(m.buffers())) == 0
    assert len(m.state_dict()) == 0
    m.buf = torch.rand(5)
    assert len(list(m.buffers())) == 1
    assert len(m.state_dict()) == 0

    m.buf = nn.Parameter(torch.rand(5))
    assert len(list(m.buffers())) == 0
    assert len(m.state_dict()) == 1


# test_nn.py TestNN.test_load_state_dict_type
def test_load_state_dict_type():
    m = nn.Module()

    with assert_raises_regex(TypeError, "Expected state_dict to be dict-like, got"):
        m.load_state_dict("")
    with assert_raises_regex(TypeError, "Expected state_dict to be dict-like, got"):
        m.load_state_dict(2)


# test_nn.py TestNN.test_buffer_not_persistent_load
def test_buffer_not_persistent_load():
    m = nn.Module()
    m.register_buffer('buf', torch.rand(5), persistent=False)
    m.load_state_dict({})


# test_nn.py TestNN.test_register_parameter_raises_error_if_name_is_not_string
def test_register_parameter_raises_error_if_name_is_not_string():
    m = nn.Module()
    expected_error = 'parameter name should be a string. Got '
    with assert_raises_regex(TypeError, expected_error + 'int'):
        m.register_parameter(1, nn.Parameter())
    with assert_raises_regex(TypeError, expected_error + 'NoneType'):
        m.register_parameter(None, nn.Parameter())


# test_nn.py TestNN.test_register_parameter_raises_error_if_attr_exists
def test_register_parameter_raises_error_if_attr_exists():
    m = nn.Module()
    m.attribute_name = 5
    with pytest.raises(KeyError):
        m.register_parameter('attribute_name', nn.Parameter())

    del m.attribute_name
    m.register_buffer('attribute_name', torch.rand(5))
    with pytest.raises(KeyError):
        m.register_parameter('attribute_name', nn.Parameter())

    del m.attribute_name
    m.add_module('attribute_name', nn.Module())
    with pytest.raises(KeyError):
        m.register_parameter('attribute_name', nn.Parameter())


# test_nn.py TestNN.test_register_parameter_allows_overwriting_with_same_name
def test_register_parameter_allows_overwriting_with_same_name():
    m = nn.Module()
    param1 = nn.Parameter(torch.rand(5))
    param2 = nn.Parameter(param1.data + 5)
    param3 = None
    m.register_parameter('param_name', param1)
    assert_equal(m.param_name, param1)
    m.register_parameter('param_name', param2)
    assert_equal(m.param_name, param2)
    m.register_parameter('param_name', param3)
    assert_equal(m.param_name, param3)


# test_nn.py TestNN.test_add_module_raises_error_if_attr_exists
def test_add_module_raises_error_if_attr_exists():
    methods_to_test = ['add_module', 'register_module']
    for fn in methods_to_test:
        m = nn.Module()
        m.attribute_name = 5
        with pytest.raises(KeyError):
            getattr(m, fn)('attribute_name', nn.Module())

        del m.attribute_name
        m.register_buffer('attribute_name', torch.rand(5))
        with pytest.raises(KeyError):
            getattr(m, fn)('attribute_name', nn.Module())

        del m.attribute_name
        m.register_parameter('attribute_name', nn.Parameter())
        with pytest.raises(KeyError):
            getattr(m, fn)('attribute_name', nn.Module())
