"""The Pendulum proof, by hand: `python -m pytest -m slow` (about 20-40 minutes on 2 cores).

Published DDPG reaches about -150 mean evaluation return on Pendulum-v1 by 20k steps; the target here is that
every one of 5 seeds of the `pendulum` preset ends at -200 or better."""

import pytest

from tinyddpg.run.sweep import make_spec, run_sweep


@pytest.mark.slow
def test_pendulum_preset_learns_on_every_seed(tmp_path):
    spec = make_spec("pendulum", "0-4", ["steps=20000"])
    results = run_sweep(spec, tmp_path, workers=2)
    finals = {result.seed: result.final_eval_return for result in results}
    assert len(finals) == 5 and all(value >= -200 for value in finals.values()), finals
