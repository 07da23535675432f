"""A coursework-style gradient report of the whole DDPG agent: every layer, then the DDPG losses.

    python examples/gradcheck.py              the reports, and the exercise
    python examples/gradcheck.py --solution   the same, then the exercise's answer

Each row compares the analytic gradient (the hand-written backward passes) with central finite differences
in float64: the array-wide rel_error = max|analytic - numerical| / max(1e-8, max(|analytic| + |numerical|)). Expect about 1e-10
for single layers and 1e-7 or better for whole networks; anything near 1 means a backward pass is wrong.

The exercise at the end breaks one backward pass on purpose: find it from the report alone, before you ask
for --solution.
"""

import argparse

from tinyddpg.backend import get_backend, make_rng
from tinyddpg.ddpg_gradcheck import agent_reports
from tinyddpg.gradcheck import check_module, standard_reports
from tinyddpg.nn import Tanh


class BrokenTanh(Tanh):
    """A Tanh whose backward pass has a bug (the exercise: which line, and what is the fix?)."""

    def backward(self, dout, need_input_grad=True, need_param_grads=True):
        return dout * (1.0 - self.y)


def main() -> None:
    parser = argparse.ArgumentParser(description="Gradient reports of every layer and the DDPG losses; an exercise.")
    parser.add_argument("--solution", action="store_true", help="also print the exercise's answer")
    show_solution = parser.parse_args().solution
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
    print(f"\nworst rel_error {report.worst():.2e}: {'FAILS' if not report.passed(1e-6) else 'passes'}. "
          f"Which line of BrokenTanh.backward is wrong? (the answer: python examples/gradcheck.py --solution)")
    if show_solution:
        print("\nsolution: BrokenTanh.backward uses 1 - tanh(x) where d tanh(x)/dx = 1 - tanh(x)^2; "
              "the fix: dx = dout * (1 - y**2)\n")
        fixed = check_module(Tanh(backend), x, title="the fixed Tanh (tinyddpg.nn.Tanh)")
        print(fixed)
        print(f"\nworst rel_error {fixed.worst():.2e}: {'passes' if fixed.passed(1e-6) else 'FAILS'}")


if __name__ == "__main__":
    main()
