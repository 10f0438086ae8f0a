import pytest

from model.config import OptimizerConfig
from model.optimizers import learning_rate_schedule


@pytest.mark.parametrize(
    "optimizer, expected",
    [
        ({"learning_rate": 0.1, "schedule": "constant"}, {0: 0.1, 50: 0.1, 100: 0.1}),
        ({"learning_rate": 0.1, "schedule": "cosine", "min_learning_rate": 0.01}, {0: 0.1, 50: 0.055, 100: 0.01}),
        ({"learning_rate": 0.1, "schedule": "cosine", "warmup_steps": 10}, {0: 0.0, 5: 0.05, 10: 0.1, 100: 0.0}),
        ({"learning_rate": 0.1, "schedule": "step", "decay_steps": [30, 60], "decay_factor": 0.5},
         {0: 0.1, 29: 0.1, 31: 0.05, 61: 0.025}),
    ],
)
def test_learning_rate_schedules(optimizer, expected):
    schedule = learning_rate_schedule(OptimizerConfig(**optimizer), total_steps=100)
    for step, value in expected.items():
        actual = float(schedule(step)) if callable(schedule) else schedule
        assert actual == pytest.approx(value, abs=1e-6), (step, actual)
