"""learn(optimizer=obj): Python optimizers of the ask/tell shape drive the search."""

import numpy as np
import pytest

import lorahub


class ListedPoints:
    """Asks fixed points in turn and records what it is told."""

    def __init__(self, points):
        self.points = [np.asarray(p, dtype=np.float64) for p in points]
        self.told = []

    def ask(self):
        return self.points[len(self.told)].copy()

    def tell(self, x, value):
        self.told.append((np.asarray(x).copy(), value))


def test_a_small_ask_tell_class_is_told_the_objective_of_each_point(model, pool, few_shot):
    points = np.random.default_rng(3).uniform(-1, 1, size=(6, len(pool)))
    optimizer = ListedPoints(points)
    result = lorahub.learn(model, pool, *few_shot, optimizer=optimizer, budget=6)
    assert len(optimizer.told) == 6 and result.optimizer == "python:ListedPoints"
    for (x, value), point, step in zip(optimizer.told, points, result.trace):
        assert np.array_equal(x, point) and np.array_equal(step.weights, point)
        assert value == step.objective
        assert value == pytest.approx(lorahub.score(model, pool, *few_shot, point).objective, rel=1e-6)
    assert result.objective == min(value for _, value in optimizer.told)


class Population:
    """Asks pycma's shape: a list of P points, told back with the list of their values."""

    def __init__(self, dimension, size, seed):
        self.rng = np.random.default_rng(seed)
        self.dimension, self.size = dimension, size
        self.tells = []

    def ask(self):
        return [self.rng.uniform(-1, 1, self.dimension) for _ in range(self.size)]

    def tell(self, solutions, values):
        assert len(solutions) == len(values) == self.size
        self.tells.append(list(values))


def test_a_population_optimizer_is_told_whole_populations(model, pool, few_shot):
    optimizer = Population(len(pool), 4, seed=1)
    result = lorahub.learn(model, pool, *few_shot, optimizer=optimizer, budget=10)
    assert len(result.trace) == 10
    # two whole populations told; the third, cut to two points by the budget, is not
    assert [len(values) for values in optimizer.tells] == [4, 4]
    assert sum(optimizer.tells, []) == [step.objective for step in result.trace[:8]]


def test_a_point_of_the_wrong_size_is_an_error_naming_the_optimizer(model, pool, few_shot):
    with pytest.raises(ValueError, match="ListedPoints.*3 weights"):
        lorahub.learn(model, pool, *few_shot, optimizer=ListedPoints([[0.0] * 3]), budget=2)
    with pytest.raises(ValueError, match="starts=1"):
        lorahub.learn(model, pool, *few_shot, optimizer=ListedPoints([[0.0] * 12] * 4), budget=4, starts=2)


def test_nevergrad_ngopt_as_upstream_sets_it_up(model, pool, few_shot):
    ng = pytest.importorskip("nevergrad")
    parametrization = ng.p.Array(init=[0.0] * len(pool), lower=[-1.5] * len(pool), upper=[1.5] * len(pool))
    optimizer = ng.optimizers.NGOpt(parametrization=parametrization, budget=20)
    result = lorahub.learn(model, pool, *few_shot, optimizer=optimizer, budget=20)
    assert len(result.trace) == 20 and optimizer.num_tell == 20
    assert np.array_equal(result.trace[0].weights, np.zeros(len(pool)))  # nevergrad asks its init first
    assert result.objective <= result.trace[0].objective
    recommended = optimizer.provide_recommendation().value
    assert np.all(np.abs(recommended) <= 1.5)


def test_pycma_drives_the_search(model, pool, few_shot):
    cma = pytest.importorskip("cma")
    strategy = cma.CMAEvolutionStrategy(np.zeros(len(pool)), 0.5, {"bounds": [-1.5, 1.5], "popsize": 6, "seed": 3, "verbose": -9})
    result = lorahub.learn(model, pool, *few_shot, optimizer=strategy, budget=18)
    assert len(result.trace) == 18 and strategy.countevals == 18
    assert strategy.result.fbest == result.objective
