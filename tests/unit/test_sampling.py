"""The sampling distribution and the sampler: temperature, top-k and top-p (nucleus) cut what
they say, and a seeded sampler draws the same tokens without touching the global RNG."""

from __future__ import annotations

import math

import pytest
import torch

from attnviz.sampling import Sampler, Sampling, distribution

LOGITS = torch.log(torch.tensor([[0.5, 0.25, 0.15, 0.1]]))  # probabilities 0.5, 0.25, 0.15, 0.1


def test_temperature_one_is_the_model_and_higher_flattens() -> None:
    torch.testing.assert_close(distribution(LOGITS, Sampling(1.0)), torch.softmax(LOGITS, -1))
    hot = distribution(LOGITS, Sampling(4.0))[0]
    assert hot.max() < 0.5 and hot.min() > 0.1  # flatter than the model's
    cold = distribution(LOGITS, Sampling(0.1))[0]
    assert cold[0] > 0.999


def test_top_k_keeps_the_k_most_probable_renormalised() -> None:
    p = distribution(LOGITS, Sampling(1.0, top_k=2))[0]
    torch.testing.assert_close(p, torch.tensor([2 / 3, 1 / 3, 0.0, 0.0]))


def test_top_p_keeps_the_fewest_reaching_the_mass() -> None:
    p = distribution(LOGITS, Sampling(1.0, top_p=0.7))[0]  # 0.5 < 0.7 ≤ 0.75: two tokens
    torch.testing.assert_close(p, torch.tensor([2 / 3, 1 / 3, 0.0, 0.0]))
    p = distribution(LOGITS, Sampling(1.0, top_p=0.75))[0]  # exactly reached by two
    assert int((p > 0).sum()) == 2
    p = distribution(LOGITS, Sampling(1.0, top_p=1e-9))[0]
    torch.testing.assert_close(p, torch.tensor([1.0, 0.0, 0.0, 0.0]))


def test_greedy_puts_all_mass_on_the_argmax() -> None:
    torch.testing.assert_close(distribution(LOGITS, Sampling()), torch.tensor([[1.0, 0.0, 0.0, 0.0]]))


def test_seeded_sampler_repeats_and_leaves_the_global_rng_alone() -> None:
    logits = torch.zeros(1, 50)  # uniform: every draw is a fair pick among 50
    state = torch.get_rng_state()
    s1, s2 = Sampler(Sampling(1.0, seed=9)), Sampler(Sampling(1.0, seed=9))
    draws1 = [int(s1(logits)) for _ in range(20)]
    draws2 = [int(s2(logits)) for _ in range(20)]
    assert draws1 == draws2 and len(set(draws1)) > 5
    assert torch.equal(torch.get_rng_state(), state)
    assert s1.chosen_p == pytest.approx([1 / 50] * 20)


def test_never_ids_are_never_drawn_and_a_missing_seed_is_chosen() -> None:
    s = Sampler(Sampling(5.0), never=(0, 1))
    assert s.sampling.seed is not None
    logits = torch.tensor([[10.0, 10.0, 0.0, 0.0]])
    assert all(int(s(logits)) in (2, 3) for _ in range(30))


@pytest.mark.parametrize(
    "bad", [dict(temperature=-1.0), dict(temperature=math.inf), dict(top_k=-1), dict(top_p=0.0), dict(top_p=1.1), dict(seed=-1)]
)
def test_out_of_range_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Sampling(**bad)  # type: ignore[arg-type]


def test_a_tiny_temperature_is_greedy_not_nan() -> None:
    p = distribution(LOGITS, Sampling(1e-300))[0]
    torch.testing.assert_close(p, torch.tensor([1.0, 0.0, 0.0, 0.0]))
    tied = distribution(torch.tensor([[2.0, 2.0, -1.0]]), Sampling(1e-300))[0]
    torch.testing.assert_close(tied, torch.tensor([0.5, 0.5, 0.0]))
    assert int(Sampler(Sampling(1e-300, seed=1))(LOGITS)) == 0
