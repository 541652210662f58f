import numpy as np
import pytest

from transformer.contract import FEATURES, N_FEATURES
from transformer.synthetic import generate, to_records

pytestmark = pytest.mark.unit


def test_generated_rows_satisfy_the_contract():
    matrix = generate(5000, seed=3, missing_rate=0.1)
    assert matrix.shape == (5000, N_FEATURES) and matrix.dtype == np.float32
    problems = [
        (i, f.name, float(v))
        for i, row in enumerate(matrix)
        for f, v in zip(FEATURES, row, strict=True)
        if f.check(float(v))
    ]
    assert problems == []
    nullable = [i for i, f in enumerate(FEATURES) if f.nullable]
    required = [i for i, f in enumerate(FEATURES) if not f.nullable]
    assert np.isnan(matrix[:, nullable]).any()
    assert not np.isnan(matrix[:, required]).any()


def test_generation_is_seeded():
    np.testing.assert_array_equal(generate(50, seed=1), generate(50, seed=1))
    assert not np.array_equal(generate(50, seed=1), generate(50, seed=2))


def test_records_round_trip_to_the_same_matrix():
    from transformer.contract import rows_to_matrix

    matrix = generate(20, seed=5, missing_rate=0.2)
    back = np.asarray(rows_to_matrix(to_records(matrix)), dtype=np.float32)
    np.testing.assert_array_equal(np.isnan(back), np.isnan(matrix))
    np.testing.assert_allclose(np.nan_to_num(back), np.nan_to_num(matrix))
