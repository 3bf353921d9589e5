"""keras.tree and keras.mixed_precision: nested structures as Keras flattens, maps and
packs them (by hand, and against Keras itself when it is installed)."""

import collections
import importlib
import importlib.util
import os

import pytest

from gradengine import keras as gk
from gradengine.keras import tree

P = collections.namedtuple("P", "x y")
CASES = [{"b": 1, "a": (2, [3, None])}, collections.OrderedDict([("b", 1), ("a", 2)]),
         P(1, [2, 3]), (), 5, [], {}, [1, [2, {"a": [3]}]], None]


def test_flatten_and_paths_by_hand():
    assert tree.flatten({"b": 1, "a": (2, [3, None])}) == [2, 3, None, 1]
    assert tree.flatten(collections.OrderedDict([("b", 1), ("a", 2)])) == [1, 2]
    assert tree.flatten(5) == [5] and tree.flatten(None) == [None] and tree.flatten([]) == []
    assert tree.flatten_with_path({"b": 1, "a": (2, [3])}) == [
        (("a", 0), 2), (("a", 1, 0), 3), (("b",), 1)]
    assert tree.is_nested(P(1, 2)) and not tree.is_nested("ab") and not tree.is_nested(None)


def test_map_pack_traverse_by_hand():
    assert tree.map_structure(lambda a, b: a + b, [1, (2,)], [10, (20,)]) == [11, (22,)]
    assert tree.map_structure(lambda x: 2 * x, P(1, [2])) == P(2, [4])
    assert tree.pack_sequence_as({"b": 0, "a": [0, 0]}, [1, 2, 3]) == {"a": [1, 2], "b": 3}
    assert tree.map_structure_up_to([0, 0], len, [[1, 2], (3, 4, 5)]) == [2, 3]
    assert tree.lists_to_tuples([1, [2, {"a": [3]}]]) == (1, (2, {"a": (3,)}))
    assert tree.map_shape_structure(lambda s: s[-1], [(1, 2), {"a": (None, 3)}]) == [2, {"a": 3}]
    assert tree.traverse(lambda x: tree.MAP_TO_NONE if x == 2 else None, [1, (2,)]) == [1, (None,)]
    assert tree.traverse(lambda x: 10 * x if isinstance(x, int) else None, [1, (2,)],
                         top_down=False) == [10, (20,)]
    seen = []
    tree.traverse(lambda x: seen.append(x), [1, (2,)])
    assert seen == [[1, (2,)], 1, (2,), 2]


@pytest.mark.parametrize("a, b", [([1, 2], (1, 2)), ([1, 2], [1, [2]]), ({"a": 1}, {"b": 1}),
                                  ([1], [1, 2])])
def test_structure_mismatches_raise(a, b):
    with pytest.raises(ValueError):
        tree.assert_same_structure(a, b)
    with pytest.raises(ValueError):
        tree.map_structure(lambda *v: v, a, b)


def test_pack_of_wrong_length_raises():
    with pytest.raises(ValueError, match="length 1"):
        tree.pack_sequence_as([0, 0], [1])


def test_mixed_precision_names():
    assert gk.mixed_precision.global_policy().name == "float32"
    gk.mixed_precision.set_global_policy("float32")
    with pytest.raises(NotImplementedError, match="mixed_float16"):
        gk.mixed_precision.set_global_policy("mixed_float16")


def test_tree_against_keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    if os.environ["KERAS_BACKEND"] != "torch":
        pytest.skip("Keras is set to another backend")
    pytest.importorskip("torch")
    kt = importlib.import_module("keras").tree if importlib.util.find_spec("keras") else None
    if kt is None:
        pytest.skip("Keras is not installed")
    for c in CASES:
        assert tree.flatten(c) == kt.flatten(c)
        assert tree.flatten_with_path(c) == kt.flatten_with_path(c)
        mine, theirs = tree.map_structure(lambda x: (x, 0), c), kt.map_structure(
            lambda x: (x, 0), c)
        assert mine == theirs and type(mine) is type(theirs)
        assert list(tree.flatten_with_path(tree.lists_to_tuples(c))) == list(
            kt.flatten_with_path(kt.lists_to_tuples(c)))
        assert repr(tree.lists_to_tuples(c)) == repr(kt.lists_to_tuples(c))
