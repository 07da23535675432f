"""A coursework-style gradient report of the whole DDPG agent: every layer, then the DDPG losses.

    python examples/gradcheck.py

Each row compares the analytic gradient (the hand-written backward passes) with central finite differences
in float64: rel_error = max|analytic - numerical| / max(1e-8, max(|analytic| + |numerical|)). Expect about 1e-10
for single layers and 1e-7 or better for whole networks; anything near 1 means a backward pass is wrong.

The exercise at the end breaks one backward pass on purpose: find it from the report alone.
"""

from tinyddpg.backend import get_backend, make_rng
from tinyddpg.ddpg_gradcheck import agent_reports
from tinyddpg.gradcheck import check_module, standard_reports
from tinyddpg.nn import Tanh


class BrokenTanh(Tanh):
    """A plausible student mistake: d tanh(x)/dx written as 1 - tanh(x) instead of 1 - tanh(x)^2."""

    def backward(self, dout, need_input_grad=True, need_param_grads=True):
        return dout * (1.0 - self.y)


def main() -> None:
    print("== layers and a 2-hidden-layer MLP ==\n")
    for report in standard_reports():
        print(report, end="\n\n")
    print("== the DDPG losses (critic loss, actor loss through the critic, dQ/da) ==\n")
    for report in agent_reports():
        print(report, end="\n\n")

    print("== exercise: which backward pass is wrong? ==\n")
    backend = get_backend("numpy", dtype="float64")
    x = backend.to_device(make_rng(1).normal(size=(4, 3)))
    report = check_module(BrokenTanh(backend), x, title="a Tanh with a bug")
    print(report)
    print(f"\nworst rel_error {report.worst():.2e}: {'FAILS' if not report.passed(1e-6) else 'passes'} "
          f"(the fix: dx = dout * (1 - y**2))")


if __name__ == "__main__":
    main()
