import numpy as np
import pytest

from headswap.evaluation.metrics.fid import frechet_distance


@pytest.mark.parametrize('n1, n2, d', [(40, 30, 8), (6, 9, 20)])
def test_matches_the_sqrtm_formula(n1, n2, d):
    linalg = pytest.importorskip('scipy.linalg')
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n1, d))
    y = rng.normal(size=(n2, d)) * 1.5 + 0.3
    c1, c2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    ref = ((x.mean(0) - y.mean(0)) ** 2).sum() + np.trace(c1 + c2) - 2 * np.trace(
        linalg.sqrtm(c1 @ c2).real)
    assert frechet_distance(x, y) == pytest.approx(ref, rel=1e-6, abs=1e-6)


def test_known_answers():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 4))
    assert frechet_distance(x, x) == pytest.approx(0, abs=1e-9)
    assert frechet_distance(x + 1, x) == pytest.approx(4, abs=1e-9)  # |shift|^2
