"""Keras 3's ``keras.tree``: nested structures of lists, tuples, namedtuples and dicts.

A dict's leaves come in sorted key order (an ``OrderedDict``'s in its own order); ``None``
is a leaf. The functions and their errors follow Keras (which uses optree): structures
that differ in a container's type or length raise ``ValueError``.
"""

from __future__ import annotations

import collections

__all__ = ["MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten",
           "flatten_with_path", "is_nested", "lists_to_tuples", "map_shape_structure",
           "map_structure", "map_structure_up_to", "pack_sequence_as", "traverse"]


class _MapToNone:
    """What ``traverse``'s function returns to put None in place of a subtree."""

    def __repr__(self):
        return "keras.tree.MAP_TO_NONE"


MAP_TO_NONE = _MapToNone()


def is_nested(structure) -> bool:
    """Whether ``structure`` is a list, tuple (namedtuples included) or dict."""
    return isinstance(structure, (list, tuple, dict))


def _keys(d):
    if isinstance(d, collections.OrderedDict):
        return list(d)
    try:
        return sorted(d)
    except TypeError:  # keys that do not sort (optree: insertion order)
        return list(d)


def _children(s):
    """``(keys or None, children)`` of a container, in flattening order."""
    if isinstance(s, dict):
        keys = _keys(s)
        return keys, [s[k] for k in keys]
    return None, list(s)


def _rebuild(like, keys, values, sort=False):
    """A container of ``like``'s type holding ``values`` (in flattening order)."""
    if isinstance(like, dict):
        got = dict(zip(keys, values))
        order = keys if sort else list(like)
        if type(like) is dict:
            return {k: got[k] for k in order}
        out = type(like)() if not isinstance(like, collections.defaultdict) else \
            collections.defaultdict(like.default_factory)
        for k in order:
            out[k] = got[k]
        return out
    if isinstance(like, tuple) and hasattr(like, "_fields"):  # a namedtuple
        return type(like)(*values)
    return type(like)(values)


def flatten(structure) -> list:
    """The leaves of ``structure``, in order (a leaf alone: ``[leaf]``)."""
    out = []
    stack = [structure]
    while stack:
        s = stack.pop()
        if is_nested(s):
            stack.extend(reversed(_children(s)[1]))
        else:
            out.append(s)
    return out


def flatten_with_path(structure) -> list:
    """``[(path, leaf), ...]``: each leaf with the tuple of keys / indices leading to it."""
    out = []

    def walk(s, path):
        if is_nested(s):
            keys, kids = _children(s)
            for i, kid in enumerate(kids):
                walk(kid, path + ((keys[i] if keys is not None else i),))
        else:
            out.append((path, s))
    walk(structure, ())
    return out


def _describe(s):
    return type(s).__name__


def _check_same(a, b, check_types=True, path=()):
    if is_nested(a) != is_nested(b):
        raise ValueError(f"Structures don't have the same nested structure: {a!r} and {b!r}"
                         f"{' at ' + str(path) if path else ''}")
    if not is_nested(a):
        return
    if check_types and type(a) is not type(b) and not (isinstance(a, dict) and
                                                       isinstance(b, dict)):
        raise ValueError(f"Node type mismatch; expected {type(a)}, but got {type(b)}.")
    ka, ca = _children(a)
    kb, cb = _children(b)
    if len(ca) != len(cb):
        raise ValueError(f"Node arity mismatch; expected {len(ca)}, but got {len(cb)}.")
    if ka is not None and set(ka) != set(kb):
        raise ValueError(f"Node keys mismatch; expected {sorted(map(str, ka))}, but got "
                         f"{sorted(map(str, kb))}.")
    if ka is not None:
        cb = [b[k] for k in ka]
    for i, (x, y) in enumerate(zip(ca, cb)):
        _check_same(x, y, check_types, path + ((ka[i] if ka is not None else i),))


def assert_same_structure(a, b, check_types=None):
    """Raise ``ValueError`` unless ``a`` and ``b`` nest alike (containers of one type and
    length, dicts with the same keys)."""
    _check_same(a, b, True if check_types is None else bool(check_types))


def assert_same_paths(a, b):
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same leaf paths (container
    types may differ)."""
    pa = {p for p, _ in flatten_with_path(a)}
    pb = {p for p, _ in flatten_with_path(b)}
    if pa != pb:
        raise ValueError(f"`a` and `b` don't have the same paths: {sorted(map(str, pa ^ pb))} "
                         "are in one only")


def map_structure(func, *structures, none_is_leaf=True):
    """``func`` applied to the leaves of ``structures`` (which must nest alike), in the
    first one's structure.

    Raises:
        TypeError: no structure given. ValueError: structures that nest differently.
    """
    if not structures:
        raise TypeError("map_structure: give at least one structure")
    first = structures[0]
    for other in structures[1:]:
        _check_same(first, other)

    def go(*ss):
        s0 = ss[0]
        if s0 is None and not none_is_leaf:
            return None
        if not is_nested(s0):
            return func(*ss)
        keys, kids0 = _children(s0)
        kids = [kids0] + [[s[k] for k in keys] if keys is not None else list(s)
                          for s in ss[1:]]
        return _rebuild(s0, keys, [go(*group) for group in zip(*kids)])
    return go(*structures)


def map_structure_up_to(shallow_structure, func, *structures):
    """``func`` applied to the subtrees of ``structures`` at the leaves of
    ``shallow_structure``."""
    def go(shallow, *ss):
        if not is_nested(shallow):
            return func(*ss)
        keys, kids_sh = _children(shallow)
        groups = []
        for s in ss:
            if not is_nested(s):
                raise ValueError(f"map_structure_up_to: {s!r} is not nested like "
                                 f"{shallow!r}")
            groups.append([s[k] for k in keys] if keys is not None else list(s))
            if len(groups[-1]) != len(kids_sh):
                raise ValueError(f"Node arity mismatch; expected {len(kids_sh)}, but got "
                                 f"{len(groups[-1])}.")
        vals = [go(sh, *g) for sh, *g in zip(kids_sh, *groups)]
        return _rebuild(shallow, keys, vals)
    return go(shallow_structure, *structures)


def pack_sequence_as(structure, flat_sequence):
    """The leaves of ``flat_sequence`` in ``structure``'s nesting (dicts by sorted keys).

    Raises:
        ValueError: a sequence of another length than ``structure``'s leaves."""
    flat = list(flat_sequence)
    n = len(flatten(structure))
    if len(flat) != n:
        raise ValueError(f"pack_sequence_as: `flat_sequence` has length {len(flat)} but the "
                         f"structure holds {n} items")
    it = iter(flat)

    def go(s):
        if not is_nested(s):
            return next(it)
        keys, kids = _children(s)
        return _rebuild(s, keys, [go(k) for k in kids], sort=True)
    return go(structure)


def lists_to_tuples(structure):
    """The structure with every list turned into a tuple."""
    if not is_nested(structure):
        return structure
    keys, kids = _children(structure)
    vals = [lists_to_tuples(k) for k in kids]
    if isinstance(structure, list):
        return tuple(vals)
    return _rebuild(structure, keys, vals, sort=True)


def _is_shape(s):
    return isinstance(s, (list, tuple)) and not hasattr(s, "_fields") and all(
        v is None or isinstance(v, int) for v in s)


def map_shape_structure(func, structure):
    """``func`` applied to each shape (a tuple or list of ints and None) in ``structure``."""
    if _is_shape(structure):
        return func(tuple(structure))
    if not is_nested(structure):
        return func(structure)
    keys, kids = _children(structure)
    return _rebuild(structure, keys, [map_shape_structure(func, k) for k in kids])


def traverse(func, structure, top_down=True):
    """Visit every node (containers and leaves). Top-down: where ``func`` returns None the
    node's children are visited, any other value replaces the subtree (``MAP_TO_NONE``:
    None). Bottom-up: children first, then ``func`` on the rebuilt node (None: keep it)."""
    def fix(v):
        return None if v is MAP_TO_NONE else v

    def down(s):
        r = func(s)
        if r is not None:
            return fix(r)
        if not is_nested(s):
            return s
        keys, kids = _children(s)
        return _rebuild(s, keys, [down(k) for k in kids])

    def up(s):
        if is_nested(s):
            keys, kids = _children(s)
            s = _rebuild(s, keys, [up(k) for k in kids])
        r = func(s)
        return s if r is None else fix(r)
    return down(structure) if top_down else up(structure)
