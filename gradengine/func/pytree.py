"""The nested containers ``torch.func`` takes and returns (PyTorch's pytrees): tuples,
lists, dicts and namedtuples of leaves, flattened to a list of leaves and a spec that
rebuilds them. ``None`` is a leaf, as in ``torch.utils._pytree``."""

from __future__ import annotations

__all__ = ["broadcast_prefix", "spec_str", "tree_flatten", "tree_leaves", "tree_map",
           "tree_unflatten"]

LEAF = None  # the spec of a leaf


class Spec:
    """A container's structure: its kind, its keys (dicts) and its children's specs."""

    __slots__ = ("kind", "keys", "children", "cls", "n")

    def __init__(self, kind, keys, children, cls=None):
        self.kind, self.keys, self.children, self.cls = kind, keys, children, cls
        self.n = sum(1 if c is LEAF else c.n for c in children)

    def __eq__(self, other):
        return (isinstance(other, Spec) and self.kind == other.kind and self.cls is other.cls
                and self.keys == other.keys and self.children == other.children)

    def __hash__(self):
        return hash((self.kind, len(self.children)))

    def __repr__(self):
        inner = ", ".join("*" if c is LEAF else repr(c) for c in self.children)
        if self.kind == "dict":
            inner = ", ".join(f"{k!r}: {'*' if c is LEAF else c!r}"
                              for k, c in zip(self.keys, self.children))
            return "{" + inner + "}"
        return f"[{inner}]" if self.kind == "list" else f"({inner})"


def spec_str(spec):
    """A structure as error messages show it: ``*`` for a leaf, ``(*, {'a': *})``."""
    return "*" if spec is LEAF else repr(spec)


def _node(tree):
    """(kind, keys, children, cls) of a container, or None for a leaf."""
    if isinstance(tree, tuple):
        if hasattr(tree, "_fields"):  # a namedtuple rebuilds with its own class
            return "namedtuple", None, tuple(tree), type(tree)
        return "tuple", None, tree, None
    if isinstance(tree, list):
        return "list", None, tree, None
    if isinstance(tree, dict):
        return "dict", tuple(tree), tuple(tree.values()), type(tree)
    return None


def tree_flatten(tree):
    """``(leaves, spec)``: the leaves in order (dicts in their key order)."""
    leaves = []

    def go(t):
        node = _node(t)
        if node is None:
            leaves.append(t)
            return LEAF
        kind, keys, children, cls = node
        return Spec(kind, keys, [go(c) for c in children], cls)

    return leaves, go(tree)


def tree_unflatten(leaves, spec):
    """The container ``spec`` describes, filled with ``leaves`` in order."""
    it = iter(leaves)

    def go(s):
        if s is LEAF:
            return next(it)
        children = [go(c) for c in s.children]
        if s.kind == "tuple":
            return tuple(children)
        if s.kind == "namedtuple":
            return s.cls(*children)
        if s.kind == "list":
            return children
        return s.cls(zip(s.keys, children)) if s.cls is not dict else dict(
            zip(s.keys, children))

    return go(spec)


def tree_leaves(tree):
    return tree_flatten(tree)[0]


def tree_map(fn, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def broadcast_prefix(prefix, spec):
    """``prefix`` (vmap's in_dims or out_dims) spread over ``spec``'s leaves: a value at a
    leaf of the prefix covers the whole subtree there; None when the structures differ."""
    out = []

    def go(p, s):
        if s is LEAF:
            if _node(p) is not None:
                return False
            out.append(p)
            return True
        node = _node(p)
        if node is None:  # one value for the whole subtree
            out.extend([p] * s.n)
            return True
        kind, keys, children, _ = node
        same = kind == s.kind or {kind, s.kind} <= {"tuple", "namedtuple"}
        if not same or len(children) != len(s.children) or (kind == "dict" and
                                                            set(keys) != set(s.keys)):
            return False
        if kind == "dict":
            children = [p[k] for k in s.keys]
        return all(go(c, sc) for c, sc in zip(children, s.children))

    return out if go(prefix, spec) else None
