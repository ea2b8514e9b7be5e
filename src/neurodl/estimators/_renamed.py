"""Old parameter names of the torch estimators, accepted for one release with a warning.

Every torch estimator takes the same training vocabulary as
:class:`~neurodl.estimators.NeuralClassifier`: ``max_epochs``, ``batch_size``, ``lr``,
``weight_decay``, ``patience``, ``validation_fraction``, ``random_state``. The dynamics
estimators used ``epochs``, ``val_fraction`` and ``seed``; :func:`accepts_old_names` keeps
those working until neurodl 0.3, with a :class:`FutureWarning`. The decorated ``__init__``
keeps its signature (scikit-learn's ``get_params`` reads it), so the old names never become
parameters.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from typing import Any, TypeVar

__all__ = ["REMOVED_IN", "RENAMED", "accepts_old_names"]

#: Old parameter name -> new name.
RENAMED: dict[str, str] = {
    "epochs": "max_epochs",
    "val_fraction": "validation_fraction",
    "seed": "random_state",
}
#: The release that drops the old names.
REMOVED_IN = "0.3"

T = TypeVar("T", bound=type)


def accepts_old_names(cls: T) -> T:
    """Class decorator: ``cls(old=value)`` warns and means ``cls(new=value)`` (see :data:`RENAMED`).

    Only old names whose new name is a parameter of ``cls.__init__`` are translated; passing
    both names raises :class:`TypeError`, as Python does for a repeated argument.

    Examples
    --------
    >>> import warnings
    >>> @accepts_old_names
    ... class Est:
    ...     def __init__(self, max_epochs=10):
    ...         self.max_epochs = max_epochs
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     Est(epochs=3).max_epochs, str(w[0].message)
    (3, "Est: 'epochs' was renamed 'max_epochs'; the old name will be removed in neurodl 0.3.")
    """
    init = cls.__init__
    accepted = set(inspect.signature(init).parameters)
    old_names = {old: new for old, new in RENAMED.items() if new in accepted}

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        for old in [k for k in kwargs if k in old_names]:
            new = old_names[old]
            if new in kwargs:
                raise TypeError(
                    f"{cls.__name__}() got both {new!r} and its old name {old!r}; pass {new!r}."
                )
            warnings.warn(
                f"{cls.__name__}: {old!r} was renamed {new!r}; the old name will be removed "
                f"in neurodl {REMOVED_IN}.",
                FutureWarning,
                stacklevel=2,
            )
            kwargs[new] = kwargs.pop(old)
        init(self, *args, **kwargs)

    cls.__init__ = __init__  # type: ignore[misc]
    return cls
