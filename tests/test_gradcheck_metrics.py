"""The two relative errors of a gradient check: the array-wide one that passes or fails, and CS231n's
per-element one reported beside it."""

import numpy as np
import pytest

from tinyddpg.gradcheck import element_relative_error, relative_error


def test_a_wrong_sign_in_a_tiny_entry_shows_only_per_element():
    numerical = np.array([1.0, -2.0, 1e-6])
    analytic = numerical * np.array([1.0, 1.0, -1.0])
    assert relative_error(analytic, numerical) == pytest.approx(2e-6 / 4.0)  # would pass a 1e-6 tolerance
    assert element_relative_error(analytic, numerical) == pytest.approx(1.0)


def test_a_gradient_off_by_a_factor_shows_in_both():
    numerical = np.array([1.0, -2.0, 0.5])
    for error in (relative_error, element_relative_error):
        assert error(0.25 * numerical, numerical) == pytest.approx(0.75 / 1.25)  # (1 - c) / (1 + c), c = 1/4


def test_both_gradients_zero_is_no_error():
    assert relative_error(np.zeros(3), np.zeros(3)) == element_relative_error(np.zeros(3), np.zeros(3)) == 0.0
