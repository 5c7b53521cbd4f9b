"""lorahub.score: one composition, or a population in one pass; what learn() scores."""

import numpy as np
import pytest

import lorahub


def test_a_population_scores_as_one_at_a_time(model, pool, few_shot):
    weights = np.random.default_rng(7).uniform(-1.5, 1.5, size=(9, len(pool)))
    together = lorahub.score(model, pool, *few_shot, weights)
    assert together.shape == (9,) and together.dtype == np.float64
    alone = np.array([lorahub.score(model, pool, *few_shot, w).objective for w in weights])
    np.testing.assert_allclose(together, alone, rtol=1e-6)


def test_score_gives_the_objective_learn_recorded(model, pool, few_shot):
    result = lorahub.learn(model, pool, *few_shot, budget=10, seed=9)
    for step in result.trace:
        scored = lorahub.score(model, pool, *few_shot, step.weights)
        assert scored.objective == pytest.approx(step.objective, rel=1e-6)
        assert scored.loss == pytest.approx(step.loss, rel=1e-6)


def test_zero_weights_score_the_base_model_and_the_penalty_is_upstreams(model, pool, few_shot):
    zero = lorahub.score(model, pool, *few_shot, np.zeros(len(pool)))
    assert zero.objective == zero.loss
    w = np.full(len(pool), 0.5)
    half = lorahub.score(model, pool, *few_shot, w)
    assert half.objective - half.loss == pytest.approx(0.05 * 0.5, rel=1e-12)


def test_batches_change_the_loss_as_upstreams_reduction_does(model, pool, few_shot):
    # upstream sums each batch's mean cross-entropy and divides by the number of examples
    inputs, outputs = few_shot
    w = np.full(len(pool), 0.2)
    per_example = [lorahub.score(model, pool, [i], [o], w).loss for i, o in zip(inputs, outputs)]
    one_each = lorahub.score(model, pool, inputs, outputs, w, batch_size=1).loss
    assert one_each == pytest.approx(sum(per_example) / len(inputs), rel=1e-6)


@pytest.mark.parametrize("weights, message", [
    ([0.1] * 3, "3 weights for a pool of 12"),
    ([float("nan")] * 12, "not finite"),
    (np.zeros((2, 2, 12)), "3-dimensional"),
    (np.zeros((0, 12)), "no row"),
])
def test_bad_weights_are_value_errors(model, pool, few_shot, weights, message):
    with pytest.raises(ValueError, match=message):
        lorahub.score(model, pool, *few_shot, weights)
