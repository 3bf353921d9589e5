"""Cases from PyTorch's test/test_nn.py (TestNN) and test/test_torch.py, ported with
``import gradengine as torch``; see tests/test_pytorch_suite_port.py for the rules."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import gradengine as torch
from gradengine import nn
from gradengine.nn import Parameter
from pytorch_port_util import assert_equal, assert_raises_regex  # noqa: F401


# test_nn.py TestNN.test_Sequential_getitem
def test_Sequential_getitem():
    l1 = nn.Linear(10, 20)
    l2 = nn.Linear(20, 30)
    l3 = nn.Linear(30, 40)
    l4 = nn.Linear(40, 50)
    n = nn.Sequential(l1, l2, l3, l4)
    assert n[0] is l1
    assert n[1] is l2
    assert n[2] is l3
    assert n[3] is l4
    assert n[torch.tensor(3, dtype=torch.int64)] is l4
    assert_equal(n[1:], nn.Sequential(l2, l3, l4))
    assert_equal(n[3:], nn.Sequential(l4))
    assert_equal(n[:-1], nn.Sequential(l1, l2, l3))
    assert_equal(n[:-3], nn.Sequential(l1))
    assert_equal(n[::-1], nn.Sequential(l4, l3, l2, l1))


# test_nn.py TestNN.test_Sequential_setitem
def test_Sequential_setitem():
    l1 = nn.Linear(10, 20)
    l2 = nn.Linear(20, 30)
    l3 = nn.Linear(30, 40)
    l4 = nn.Linear(40, 50)
    n = nn.Sequential(l1, l2, l3)
    n[0] = l4
    n[-1] = l4
    n[torch.tensor(1, dtype=torch.int16)] = l1
    assert n[0] is l4
    assert n[1] is l1
    assert n[2] is l4


# test_nn.py TestNN.test_Sequential_setitem_named
def test_Sequential_setitem_named():
    l1 = nn.Linear(10, 20)
    l2 = nn.Linear(20, 30)
    l3 = nn.Linear(30, 40)
    l4 = nn.Linear(40, 50)
    n = nn.Sequential(OrderedDict([
        ('linear1', l1),
        ('linear2', l2),
        ('linear3', l3),
    ]))

    n[0] = l4
    n[-1] = l4
    assert n.linear1 is l4
    assert n.linear3 is l4


# test_nn.py TestNN.test_Sequential_delitem
def test_Sequential_delitem():
    l1 = nn.Linear(10, 20)
    l2 = nn.Linear(20, 30)
    l3 = nn.Linear(30, 40)
    l4 = nn.Linear(40, 50)
    n = nn.Sequential(l1, l2, l3, l4)
    del n[-1]
    assert_equal(n, nn.Sequential(l1, l2, l3))
    del n[1::2]
    assert_equal(n, nn.Sequential(l1, l3))


# test_nn.py TestNN.test_Sequential_add
def test_Sequential_add():
    l1 = nn.Linear(1, 2)
    l2 = nn.Linear(2, 3)
    l3 = nn.Linear(3, 4)
    l4 = nn.Linear(4, 5)
    n = nn.Sequential(l1, l2)
    other = nn.Sequential(l3, l4)
    assert_equal(n + other, nn.Sequential(l1, l2, l3, l4))


# test_nn.py TestNN.test_Sequential_iadd
def test_Sequential_iadd():
    l1 = nn.Linear(10, 20)
    l2 = nn.Linear(20, 30)
    l3 = nn.Linear(30, 40)
    l4 = nn.Linear(40, 50)
    n = nn.Sequential(l1, l2, l3)
    n2 = nn.Sequential(l4)
    n += n2
    n2 += n
    assert_equal(n, nn.Sequential(l1, l2, l3, l4))
    assert_equal(n2, nn.Sequential(l4, l1, l2, l3, l4))


# test_nn.py TestNN.test_Sequential_mul / test_Sequential_rmul / test_Sequential_imul
def test_Sequential_mul_rmul_imul():
    l1 = nn.Linear(10, 20)
    l2 = nn.Linear(20, 30)
    l3 = nn.Linear(30, 40)
    l4 = nn.Linear(40, 50)
    n = nn.Sequential(l1, l2, l3, l4)
    n2 = n * 2
    assert_equal(n2, nn.Sequential(l1, l2, l3, l4, l1, l2, l3, l4))
    n2 = 2 * n
    assert_equal(n2, nn.Sequential(l1, l2, l3, l4, l1, l2, l3, l4))
    n *= 2
    assert_equal(n, nn.Sequential(l1, l2, l3, l4, l1, l2, l3, l4))
    n *= 2
    assert_equal(
        n,
        nn.Sequential(l1, l2, l3, l4, l1, l2, l3, l4, l1, l2, l3, l4, l1, l2, l3, l4)
    )


# test_nn.py TestNN.test_Sequential_append
def test_Sequential_append():
    l1 = nn.Linear(10, 20)
    l2 = nn.Linear(20, 30)
    l3 = nn.Linear(30, 40)
    l4 = nn.Linear(40, 50)
    n = nn.Sequential(l1, l2, l3)
    n2 = n.append(l4)
    assert_equal(n, nn.Sequential(l1, l2, l3, l4))
    assert_equal(n2, nn.Sequential(l1, l2, l3, l4))
    assert_equal(nn.Sequential(l1).append(l2).append(l4), nn.Sequential(l1, l2, l4))


# test_nn.py TestNN.test_Sequential_pop
def test_Sequential_pop():
    l1 = nn.Linear(1, 2)
    l2 = nn.Linear(2, 3)
    l3 = nn.Linear(3, 4)
    l4 = nn.Linear(4, 5)
    n1 = nn.Sequential(l1, l2, l3, l4)
    assert l4 is n1.pop(3)
    n2 = nn.Sequential(l1, l2, l3)
    assert_equal(n1, n2)
    for k, mod in zip(range(len(n1)), n1):
        assert n1[k] is mod


# test_nn.py TestNN.test_Sequential_insert
def test_Sequential_insert():
    l1 = nn.Linear(1, 2)
    l2 = nn.Linear(2, 3)
    l3 = nn.Linear(3, 4)

    n1 = nn.Sequential(l1, l2, l3)
    module_1 = nn.Linear(4, 5)
    n2 = nn.Sequential(l1, module_1, l2, l3)
    assert_equal(n1.insert(1, module_1), n2)

    n3 = nn.Sequential(l1, l2, l3)
    module_2 = nn.Linear(5, 6)
    n4 = nn.Sequential(l1, module_2, l2, l3)
    assert_equal(n3.insert(-2, module_2), n4)


# test_nn.py TestNN.test_Sequential_insert_fail_case
def test_Sequential_insert_fail_case():
    l1 = nn.Linear(1, 2)
    l2 = nn.Linear(2, 3)
    l3 = nn.Linear(3, 4)

    module = nn.Linear(5, 6)

    n1 = nn.Sequential(l1, l2, l3)
    with pytest.raises(IndexError):
        n1.insert(-5, module)

    with pytest.raises(AssertionError):
        n1.insert(1, [nn.Linear(6, 7)])


# test_nn.py TestNN.test_Sequential_extend
def test_Sequential_extend():
    l1 = nn.Linear(10, 20)
    l2 = nn.Linear(20, 30)
    l3 = nn.Linear(30, 40)
    l4 = nn.Linear(40, 50)
    n1 = nn.Sequential(l1, l2)
    n2 = nn.Sequential(l3, l4)
    n3 = nn.Sequential(l1, l2)
    for l in n2:  # noqa: E741
        n1.append(l)
    n3.extend(n2)
    assert_equal(n3, n1)


# test_nn.py TestNN.test_ModuleList
def test_ModuleList():
    modules = [nn.ReLU(), nn.Linear(5, 5)]
    module_list = nn.ModuleList(modules)

    def check():
        assert_equal(len(module_list), len(modules))
        for m1, m2 in zip(modules, module_list):
            assert m1 is m2
        for m1, m2 in zip(modules, module_list.children()):
            assert m1 is m2
        for i in range(len(modules)):
            assert module_list[i] is modules[i]

    check()
    modules += [nn.Conv2d(3, 4, 3)]
    module_list += [modules[-1]]
    check()
    modules = modules + [nn.Conv2d(3, 4, 3, bias=False), nn.GELU()]
    module_list = module_list + nn.ModuleList(modules[-2:])
    check()
    modules.insert(1, nn.Linear(3, 2))
    module_list.insert(1, modules[1])
    check()
    modules.append(nn.Tanh())
    module_list.append(modules[-1])
    check()
    next_modules = [nn.Linear(5, 5), nn.Sigmoid()]
    modules.extend(next_modules)
    module_list.extend(next_modules)
    check()
    modules[2] = nn.Conv2d(5, 3, 2)
    module_list[2] = modules[2]
    check()
    modules[-1] = nn.Conv2d(5, 2, 1)
    module_list[-1] = modules[-1]
    check()
    idx = torch.tensor(2, dtype=torch.int32)
    modules[2] = nn.Conv2d(5, 3, 2)
    module_list[idx] = modules[2]
    assert module_list[idx] is modules[2]
    check()
    assert_equal(module_list[1:], nn.ModuleList(modules[1:]))
    assert_equal(module_list[3:], nn.ModuleList(modules[3:]))
    assert_equal(module_list[:-1], nn.ModuleList(modules[:-1]))
    assert_equal(module_list[:-3], nn.ModuleList(modules[:-3]))
    assert_equal(module_list[::-1], nn.ModuleList(modules[::-1]))
    del module_list[-1]
    assert_equal(module_list, nn.ModuleList(modules[:-1]))
    del module_list[1::2]
    assert_equal(module_list, nn.ModuleList(modules[:-1][0::2]))

    with pytest.raises(TypeError):
        module_list += nn.ReLU()
    with pytest.raises(TypeError):
        module_list.extend(nn.ReLU())

    l1 = nn.Linear(1, 2)
    l2 = nn.Linear(2, 3)
    l3 = nn.Linear(3, 2)
    l4 = nn.Linear(2, 3)
    subnet = nn.Sequential(l3, l4)
    s = nn.Sequential(
        OrderedDict([
            ("layer1", l1),
            ("layer2", l2),
            ("layer3", l3),
            ("layer4", l4),
            ("subnet_layer", subnet)
        ])
    )
    modules = list(s.modules())
    module_list = nn.ModuleList()
    module_list.extend(s.modules())
    check()

    modules = [nn.ReLU(), nn.Linear(5, 5), nn.Conv2d(3, 4, 3)]
    module_list = nn.ModuleList(modules)
    assert modules.pop(1) is module_list.pop(1)
    assert_equal(modules, list(module_list))
    for k, mod in zip(range(len(module_list)), module_list):
        assert module_list[k] is mod

    with pytest.raises(NotImplementedError):
        module_list()
    with pytest.raises(NotImplementedError):
        module_list(torch.rand(1, 3))


# test_nn.py TestNN.test_ModuleDict
def test_ModuleDict():
    modules = OrderedDict([
        ('act', nn.ReLU()),
        ('conv', nn.Conv2d(10, 10, 5)),
        ('fc', nn.Linear(5, 5)),
    ])

    module_dict = nn.ModuleDict(modules)

    def check():
        assert_equal(len(module_dict), len(modules))
        for k1, m2 in zip(modules, module_dict.children()):
            assert modules[k1] is m2
        for k1, k2 in zip(modules, module_dict):
            assert modules[k1] is module_dict[k2]
        for k in module_dict:
            assert module_dict[k] is modules[k]
        for k in module_dict.keys():
            assert module_dict[k] is modules[k]
        for k, v in module_dict.items():
            assert modules[k] is v
        for k1, m2 in zip(modules, module_dict.values()):
            assert modules[k1] is m2
        for k in modules.keys():
            assert k in module_dict
    check()

    modules['conv'] = nn.Conv2d(3, 4, 3)
    module_dict['conv'] = modules['conv']
    check()

    next_modules = [
        ('fc2', nn.Linear(5, 5)),
        ('act', nn.Sigmoid()),
    ]
    modules.update(next_modules)
    module_dict.update(next_modules)
    check()

    next_modules = OrderedDict([
        ('fc3', nn.Linear(5, 5)),
        ('act2', nn.Sigmoid()),
    ])
    modules.update(next_modules)
    module_dict.update(next_modules)
    check()

    next_modules = {
        'fc4': nn.Linear(5, 5),
        'act3': nn.Sigmoid()
    }
    modules.update(next_modules.items())
    module_dict.update(next_modules)
    check()

    next_modules = nn.ModuleDict([
        ('fc5', nn.Linear(5, 5)),
        ('act4', nn.Sigmoid()),
    ])
    modules.update(next_modules)
    module_dict.update(next_modules)
    check()

    del module_dict['fc']
    del modules['fc']
    check()

    with pytest.raises(TypeError):
        module_dict.update(nn.ReLU())

    with pytest.raises(TypeError):
        module_dict.update([nn.ReLU()])

    with pytest.raises(ValueError):
        module_dict.update([[nn.ReLU()]])

    with pytest.raises(TypeError):
        module_dict[1] = nn.ReLU()

    s = nn.Sequential(modules)
    module_dict = nn.ModuleDict(s.named_children())
    check()

    c = module_dict.pop('conv')
    assert c is modules['conv']
    modules.pop('conv')
    check()

    module_dict.clear()
    assert_equal(len(module_dict), 0)
    modules.clear()
    check()

    with pytest.raises(NotImplementedError):
        module_dict()
    with pytest.raises(NotImplementedError):
        module_dict(torch.rand(1, 3))


# test_nn.py TestNN.test_ParameterList
def test_ParameterList():
    def make_param():
        return Parameter(torch.randn(2, 2))
    parameters = [make_param(), make_param()]
    param_list = nn.ParameterList(parameters)

    def check():
        assert_equal(len(parameters), len(param_list))
        for p1, p2 in zip(parameters, param_list):
            assert p1 is p2
        for p1, p2 in zip(filter(lambda x: isinstance(x, Parameter), parameters),
                          param_list.parameters()):
            assert p1 is p2
        for i in range(len(parameters)):
            assert parameters[i] is param_list[i]

    check()
    parameters += [make_param()]
    param_list += [parameters[-1]]
    check()
    parameters.append(make_param())
    param_list.append(parameters[-1])
    check()
    next_params = [make_param(), make_param()]
    parameters.extend(next_params)
    param_list.extend(next_params)
    check()
    parameters[2] = make_param()
    param_list[2] = parameters[2]
    check()
    parameters[-1] = make_param()
    param_list[-1] = parameters[-1]
    check()
    idx = torch.tensor(2, dtype=torch.int32)
    parameters[2] = make_param()
    param_list[idx] = parameters[2]
    assert param_list[idx] is parameters[2]
    check()
    assert_equal(list(param_list[1:]), list(nn.ParameterList(parameters[1:])))
    assert_equal(list(param_list[::-1]), list(nn.ParameterList(parameters[::-1])))

    with pytest.raises(TypeError):
        param_list += make_param()
    with pytest.raises(TypeError):
        param_list.extend(make_param())

    l1 = nn.Linear(1, 2)
    l2 = nn.Linear(2, 3)
    l3 = nn.Linear(3, 2)
    l4 = nn.Linear(2, 3)
    subnet = nn.Sequential(l3, l4)
    s = nn.Sequential(
        OrderedDict([
            ("layer1", l1),
            ("layer2", l2),
            ("layer3", l3),
            ("layer4", l4),
            ("subnet_layer", subnet)
        ])
    )
    parameters = list(s.parameters())
    param_list = nn.ParameterList()
    param_list.extend(s.parameters())
    check()

    param_list.append(torch.rand(2, 2))
    assert isinstance(param_list[-1], Parameter)
    parameters.append(param_list[-1])

    param_list.extend([torch.rand(2, 2), "foo"])
    assert isinstance(param_list[-2], Parameter)
    assert isinstance(param_list[-1], str)
    parameters.extend(param_list[-2:])

    param_list += ["bar", torch.rand(2, 2)]
    assert isinstance(param_list[-2], str)
    assert isinstance(param_list[-1], Parameter)
    parameters += param_list[-2:]
    check()


# test_indexing.py TestIndexing.test_index (device "cpu")
def test_index():
    import random

    def consec(size, start=1):
        sequence = torch.ones(torch.tensor(size).prod(0)).cumsum(0)
        sequence.add_(start - 1)
        return sequence.view(*size)

    reference = consec((3, 3, 3))

    assert_equal(reference[torch.LongTensor()], reference.new(0, 3, 3))

    assert_equal(reference[0], consec((3, 3)), atol=0, rtol=0)
    assert_equal(reference[1], consec((3, 3), 10), atol=0, rtol=0)
    assert_equal(reference[2], consec((3, 3), 19), atol=0, rtol=0)
    assert_equal(reference[0, 1], consec((3,), 4), atol=0, rtol=0)
    assert_equal(reference[0:2], consec((2, 3, 3)), atol=0, rtol=0)
    assert_equal(reference[2, 2, 2], 27, atol=0, rtol=0)
    assert_equal(reference[:], consec((3, 3, 3)), atol=0, rtol=0)

    assert_equal(
        reference[..., 2],
        torch.tensor([[3.0, 6.0, 9.0], [12.0, 15.0, 18.0], [21.0, 24.0, 27.0]]),
        atol=0, rtol=0)
    assert_equal(reference[0, ..., 2], torch.tensor([3.0, 6.0, 9.0]), atol=0, rtol=0)
    assert_equal(reference[..., 2], reference[:, :, 2], atol=0, rtol=0)
    assert_equal(reference[0, ..., 2], reference[0, :, 2], atol=0, rtol=0)
    assert_equal(reference[0, 2, ...], reference[0, 2], atol=0, rtol=0)
    assert_equal(reference[..., 2, 2, 2], 27, atol=0, rtol=0)
    assert_equal(reference[2, ..., 2, 2], 27, atol=0, rtol=0)
    assert_equal(reference[2, 2, ..., 2], 27, atol=0, rtol=0)
    assert_equal(reference[2, 2, 2, ...], 27, atol=0, rtol=0)
    assert_equal(reference[...], reference, atol=0, rtol=0)

    reference_5d = consec((3, 3, 3, 3, 3))
    assert_equal(reference_5d[..., 1, 0], reference_5d[:, :, :, 1, 0], atol=0, rtol=0)
    assert_equal(reference_5d[2, ..., 1, 0], reference_5d[2, :, :, 1, 0], atol=0, rtol=0)
    assert_equal(reference_5d[2, 1, 0, ..., 1], reference_5d[2, 1, 0, :, 1], atol=0, rtol=0)
    assert_equal(reference_5d[...], reference_5d, atol=0, rtol=0)

    reference = consec((5, 5, 5))
    idx = torch.LongTensor([2, 4])
    assert_equal(reference[idx], torch.stack([reference[2], reference[4]]))

    assert_equal(reference[2, None], reference[2].unsqueeze(0))
    assert_equal(reference[2, None, None], reference[2].unsqueeze(0).unsqueeze(0))
    assert_equal(reference[2:4, None], reference[2:4].unsqueeze(1))
    assert_equal(reference[None, 2, None, None],
                 reference.unsqueeze(0)[:, 2].unsqueeze(0).unsqueeze(0))
    assert_equal(reference[None, 2:5, None, None],
                 reference.unsqueeze(0)[:, 2:5].unsqueeze(2).unsqueeze(2))

    assert_equal(torch.empty(0, 5, 5), reference[slice(0)])
    assert_equal(torch.empty(0, 5), reference[slice(0), 2])
    assert_equal(torch.empty(0, 5), reference[2, slice(0)])
    assert_equal(torch.tensor([]), reference[2, 1:1, 2])

    reference = consec((10, 10, 10))
    assert_equal(reference[1:5:2], torch.stack([reference[1], reference[3]], 0))
    assert_equal(reference[1:6:2],
                 torch.stack([reference[1], reference[3], reference[5]], 0))
    assert_equal(reference[1:9:4], torch.stack([reference[1], reference[5]], 0))
    assert_equal(reference[2:4, 1:5:2],
                 torch.stack([reference[2:4, 1], reference[2:4, 3]], 1))
    assert_equal(reference[3, 1:6:2],
                 torch.stack([reference[3, 1], reference[3, 3], reference[3, 5]], 0))
    assert_equal(reference[None, 2, 1:9:4],
                 torch.stack([reference[2, 1], reference[2, 5]], 0).unsqueeze(0))
    assert_equal(reference[:, 2, 1:6:2],
                 torch.stack([reference[:, 2, 1], reference[:, 2, 3], reference[:, 2, 5]], 1))

    lst = [list(range(i, i + 10)) for i in range(0, 100, 10)]
    _make_tensor = torch.DoubleTensor
    tensor = _make_tensor(lst)
    for _ in range(100):
        idx1_start = random.randrange(10)
        idx1_end = idx1_start + random.randrange(1, 10 - idx1_start + 1)
        idx1_step = random.randrange(1, 8)
        idx1 = slice(idx1_start, idx1_end, idx1_step)
        if random.randrange(2) == 0:
            idx2_start = random.randrange(10)
            idx2_end = idx2_start + random.randrange(1, 10 - idx2_start + 1)
            idx2_step = random.randrange(1, 8)
            idx2 = slice(idx2_start, idx2_end, idx2_step)
            lst_indexed = [l[idx2] for l in lst[idx1]]  # noqa: E741
            tensor_indexed = tensor[idx1, idx2]
        else:
            lst_indexed = lst[idx1]
            tensor_indexed = tensor[idx1]
        assert_equal(_make_tensor(lst_indexed), tensor_indexed)

    with pytest.raises(ValueError):
        reference[1:9:0]
    # PyTorch refuses a negative step (ValueError); gradengine takes it, as NumPy does
    # (DESIGN.md, "indexing: ... slices (negative steps too)"): 1:9:-1 selects nothing
    assert_equal(reference[1:9:-1], torch.empty(0, 10, 10))

    with pytest.raises(IndexError):
        reference[1, 1, 1, 1]
    with pytest.raises(IndexError):
        reference[1, 1, 1, 1:1]
    with pytest.raises(IndexError):
        reference[3, 3, 3, 3, 3, 3, 3, 3]

    with pytest.raises(IndexError):
        reference[0.0]
    with pytest.raises(TypeError):
        reference[0.0:2.0]
    with pytest.raises(IndexError):
        reference[0.0, 0.0:2.0]
    with pytest.raises(IndexError):
        reference[0.0, :, 0.0:2.0]
    with pytest.raises(IndexError):
        reference[0.0, ..., 0.0:2.0]
    with pytest.raises(IndexError):
        reference[0.0, :, 0.0]

    def delitem():
        del reference[0]

    with pytest.raises(TypeError):
        delitem()


# test_indexing.py TestIndexing.test_advancedindex (dtype double; the part on tensors made
# with set_() over a storage is left out: no storages in gradengine)
def test_advancedindex():
    import random
    dtype = torch.double

    def consec(size, start=1):
        numel = int(np.prod(size))
        sequence = torch.ones(numel, dtype=torch.float).cumsum(0)
        sequence.add_(start - 1)
        return sequence.view(*size).to(dtype=dtype)

    def ri(indices):
        choice = random.randint(0, 2)
        if choice == 0:
            return torch.LongTensor(indices)
        elif choice == 1:
            return list(indices)
        else:
            return tuple(indices)

    def validate_indexing(x):
        assert_equal(x[[0]], consec((1,)))
        assert_equal(x[ri([0]),], consec((1,)))
        assert_equal(x[ri([3]),], consec((1,), 4))
        assert_equal(x[[2, 3, 4]], consec((3,), 3))
        assert_equal(x[ri([2, 3, 4]),], consec((3,), 3))
        assert_equal(x[ri([0, 2, 4]),], torch.tensor([1, 3, 5], dtype=dtype))

    def validate_setting(x):
        x[[0]] = -2
        assert_equal(x[[0]], torch.tensor([-2], dtype=dtype))
        x[[0]] = -1
        assert_equal(x[ri([0]),], torch.tensor([-1], dtype=dtype))
        x[[2, 3, 4]] = 4
        assert_equal(x[[2, 3, 4]], torch.tensor([4, 4, 4], dtype=dtype))
        x[ri([2, 3, 4]),] = 3
        assert_equal(x[ri([2, 3, 4]),], torch.tensor([3, 3, 3], dtype=dtype))
        x[ri([0, 2, 4]),] = torch.tensor([5, 4, 3], dtype=dtype)
        assert_equal(x[ri([0, 2, 4]),], torch.tensor([5, 4, 3], dtype=dtype))

    reference = consec((10,))
    validate_indexing(reference)
    validate_setting(reference)

    reference = consec((3, 2))
    assert_equal(reference[ri([0, 1, 2]), ri([0])], torch.tensor([1, 3, 5], dtype=dtype))
    assert_equal(reference[ri([0, 1, 2]), ri([1])], torch.tensor([2, 4, 6], dtype=dtype))
    assert_equal(reference[ri([0]), ri([0])], consec((1,)))
    assert_equal(reference[ri([2]), ri([1])], consec((1,), 6))
    assert_equal(reference[(ri([0, 0]), ri([0, 1]))], torch.tensor([1, 2], dtype=dtype))
    assert_equal(reference[(ri([0, 1, 1, 0, 2]), ri([1]))],
                 torch.tensor([2, 4, 4, 2, 6], dtype=dtype))
    assert_equal(reference[(ri([0, 0, 1, 1]), ri([0, 1, 0, 0]))],
                 torch.tensor([1, 2, 3, 3], dtype=dtype))

    rows = ri([[0, 0], [1, 2]])
    columns = ([0],)
    assert_equal(reference[rows, columns], torch.tensor([[1, 1], [3, 5]], dtype=dtype))

    rows = ri([[0, 0], [1, 2]])
    columns = ri([1, 0])
    assert_equal(reference[rows, columns], torch.tensor([[2, 1], [4, 5]], dtype=dtype))
    rows = ri([[0, 0], [1, 2]])
    columns = ri([[0, 1], [1, 0]])
    assert_equal(reference[rows, columns], torch.tensor([[1, 2], [4, 5]], dtype=dtype))

    reference[ri([0]), ri([1])] = -1
    assert_equal(reference[ri([0]), ri([1])], torch.tensor([-1], dtype=dtype))
    reference[ri([0, 1, 2]), ri([0])] = torch.tensor([-1, 2, -4], dtype=dtype)
    assert_equal(reference[ri([0, 1, 2]), ri([0])], torch.tensor([-1, 2, -4], dtype=dtype))
    reference[rows, columns] = torch.tensor([[4, 6], [2, 3]], dtype=dtype)
    assert_equal(reference[rows, columns], torch.tensor([[4, 6], [2, 3]], dtype=dtype))

    reference = torch.tensor([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]], dtype=dtype).t_()
    assert_equal(reference[ri([0, 1, 2]), ri([0])], torch.tensor([0, 1, 2], dtype=dtype))
    assert_equal(reference[ri([0, 1, 2]), ri([1])], torch.tensor([4, 5, 6], dtype=dtype))
    assert_equal(reference[ri([0]), ri([0])], torch.tensor([0], dtype=dtype))
    assert_equal(reference[ri([2]), ri([1])], torch.tensor([6], dtype=dtype))
    assert_equal(reference[(ri([0, 0]), ri([0, 1]))], torch.tensor([0, 4], dtype=dtype))
    assert_equal(reference[(ri([0, 1, 1, 0, 3]), ri([1]))],
                 torch.tensor([4, 5, 5, 4, 7], dtype=dtype))
