"""Every public function and class carries an Examples section (run as a doctest).

Issue 19 asks for an example on every public name; a public name without one fails here, and so
does one whose examples are all ``# doctest: +SKIP`` (they never run). The examples themselves
run as doctests (``--doctest-modules`` over ``src/neurodl``).
"""

from __future__ import annotations

import doctest

from test_public_docstrings import _own_docstring, public_callables


def _has_example(obj: object) -> bool:
    """True when the docstring has at least one doctest example that runs (not ``+SKIP``ped).

    The examples are parsed as doctest does, so a ``# doctest: +SKIP`` on any line of a
    multi-line example (a ``...`` continuation too) skips the whole example.
    """
    examples = doctest.DocTestParser().get_examples(_own_docstring(obj))
    return any(not ex.options.get(doctest.SKIP, False) for ex in examples)


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


def test_every_public_name_has_an_example():
    missing = sorted(names_without_examples())
    assert not missing, (
        f"{len(missing)} public names have no Examples section (a short doctest with shapes):\n  "
        + "\n  ".join(missing)
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

    def skipped():
        """Do it.

        Examples
        --------
        >>> data = read("real/data",
        ...             window=4.0)  # doctest: +SKIP
        >>> data.shape  # doctest: +ELLIPSIS, +SKIP
        (8, ...)
        """

    def skipped_and_run():
        """Do it.

        Examples
        --------
        >>> data = read("real/data")  # doctest: +SKIP
        >>> 1 + 1
        2
        """

    assert _has_example(documented) and _has_example(skipped_and_run)
    assert not _has_example(bare) and not _has_example(skipped)
