"""Public functions and classes carry an Examples section (run as a doctest): a ratchet.

Issue 19 asks for an example on every public name. The names that still lack one are listed in
``tests/public_names_without_examples.txt``; that list may only shrink: a new public name
without an example fails here, and so does a listed name that has gained one (take it off the
list). The examples themselves run as doctests (``--doctest-modules`` over ``src/neurodl``).
"""

from __future__ import annotations

from pathlib import Path

from test_public_docstrings import _own_docstring, public_callables

TODO = Path(__file__).with_name("public_names_without_examples.txt")


def _has_example(obj: object) -> bool:
    doc = _own_docstring(obj)
    return ">>>" in doc


def names_without_examples() -> set[str]:
    """``module.name`` of each public object without an example (each object once)."""
    missing, seen = set(), set()
    for obj in public_callables().values():
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if not _has_example(obj):
            missing.add(f"{obj.__module__}.{obj.__qualname__}")
    return missing


def _listed() -> set[str]:
    lines = TODO.read_text().splitlines()
    return {s.strip() for s in lines if s.strip() and not s.startswith("#")}


def test_no_new_public_name_without_an_example():
    new = sorted(names_without_examples() - _listed())
    assert not new, (
        f"{len(new)} public names have no Examples section (a short doctest with shapes):\n  "
        + "\n  ".join(new)
    )


def test_the_list_of_names_without_examples_only_shrinks():
    stale = sorted(_listed() - names_without_examples())
    assert not stale, (
        f"{len(stale)} names in {TODO.name} now have an example or are gone; remove them:\n  "
        + "\n  ".join(stale)
    )


def test_the_check_sees_an_example():
    def documented():
        """Do it.

        Examples
        --------
        >>> 1 + 1
        2
        """

    def bare():
        """Do it."""

    assert _has_example(documented) and not _has_example(bare)
