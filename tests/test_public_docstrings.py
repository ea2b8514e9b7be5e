"""Every public function and class of neurodl has a docstring.

Public names are those in the ``__all__`` of every public module (no part of the dotted name
starts with ``_``). A class's docstring must be its own (Python does not inherit ``__doc__``
for classes), and the signature line that ``dataclasses`` writes when a class has none does not
count. The test lists every name without one, so a new public name cannot land undocumented.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil

import pytest

import neurodl


def _public_modules() -> list[str]:
    names = ["neurodl"]
    for info in pkgutil.walk_packages(neurodl.__path__, "neurodl."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return sorted(names)


def _own_docstring(obj: object) -> str:
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__") or ""
        if dataclasses.is_dataclass(obj) and doc.startswith(f"{obj.__name__}("):
            return ""  # written by dataclasses from the signature
        return doc.strip()
    return (inspect.getdoc(obj) or "").strip()


def public_callables() -> dict[str, object]:
    """``module.name`` -> object, for every function and class in a public ``__all__``."""
    found: dict[str, object] = {}
    for modname in _public_modules():
        module = importlib.import_module(modname)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if not str(getattr(obj, "__module__", "")).startswith("neurodl"):
                continue
            found[f"{modname}.{name}"] = obj
    return found


def missing_docstrings() -> list[str]:
    """Public names whose object has no docstring of its own (each object listed once)."""
    missing, seen = [], set()
    for fullname, obj in public_callables().items():
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if not _own_docstring(obj):
            missing.append(f"{fullname} (defined in {obj.__module__})")
    return sorted(missing)


def test_public_names_are_found():
    # the walk reaches every layer; a broken walk would make the next test pass vacuously
    names = public_callables()
    layers = {n.split(".")[1] for n in names if n.count(".") >= 2}
    for layer in (
        "data",
        "io",
        "datasets",
        "preprocessing",
        "models",
        "estimators",
        "evaluation",
        "analyses",
        "report",
        "workflows",
    ):
        assert layer in layers
    assert len(names) > 500
    assert names["neurodl.analyses.decoding.decode"].__name__ == "decode"


def test_every_public_function_and_class_has_a_docstring():
    missing = missing_docstrings()
    assert not missing, (
        f"{len(missing)} public names have no docstring (numpydoc, with shapes):\n  "
        + "\n  ".join(missing)
    )


def test_the_check_catches_a_missing_docstring():
    # negative control: an undocumented function, and a dataclass with only its generated line
    def undocumented():
        pass

    @dataclasses.dataclass
    class Generated:
        x: int

    @dataclasses.dataclass
    class Documented:
        """A documented dataclass."""

        x: int

    assert _own_docstring(undocumented) == ""
    assert _own_docstring(Generated) == ""
    assert _own_docstring(Documented) == "A documented dataclass."


@pytest.mark.parametrize("obj", [neurodl.NeurodlError, neurodl.set_config])
def test_documented_objects_pass(obj):
    assert _own_docstring(obj)
