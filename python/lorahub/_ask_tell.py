"""Drives a Python optimizer of the ask/tell shape from lorahub's search (lorahub.learn(optimizer=obj))."""

from __future__ import annotations

import numpy as np


class AskTellDriver:
    """Adapts ``obj.ask()`` / ``obj.tell(x, value)`` to the C++ search's populations.

    ``ask()`` may return a nevergrad candidate (its ``.value`` is the point; the candidate itself
    is told back), one point [N] (told back as asked), or a population [P, N] such as pycma's
    list of solutions (told back with the list of P values; a population the budget cut short
    is not told, as the search ends there).
    """

    def __init__(self, optimizer):
        if not (callable(getattr(optimizer, "ask", None)) and callable(getattr(optimizer, "tell", None))):
            raise TypeError(f"optimizer: {type(optimizer).__name__} has no ask() and tell(x, value); "
                            "pass a name of lorahub.optimizers() or an ask/tell object")
        self._optimizer = optimizer
        self._asked = None
        self._population = 0
        self._single = True

    def ask_population(self) -> list[np.ndarray]:
        asked = self._optimizer.ask()
        value = asked if isinstance(asked, (np.ndarray, list, tuple)) else getattr(asked, "value", asked)
        try:
            points = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as failure:
            raise TypeError(f"optimizer {type(self._optimizer).__name__}: ask() gave {type(asked).__name__}, "
                            "not a point, a population of points or a candidate with .value") from failure
        if points.ndim not in (1, 2):
            raise ValueError(f"optimizer {type(self._optimizer).__name__}: ask() gave a {points.ndim}-dimensional array; "
                             "a point is [N], a population [P, N]")
        self._single = points.ndim == 1
        rows = [points] if self._single else list(points)
        self._asked = asked
        self._population = len(rows)
        return [np.ascontiguousarray(row) for row in rows]

    def tell_population(self, values) -> None:
        if self._single:
            self._optimizer.tell(self._asked, float(values[0]))
        elif len(values) == self._population:
            self._optimizer.tell(self._asked, [float(v) for v in values])
