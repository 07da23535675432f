"""The parts of the DDPG assignment: which engine function each one is, its task, its points, where it is derived.

A part is one function of the engine (`module.py:Class.method` or `module.py:function`). `tinyddpg assignment
new` replaces the body of each chosen part's function by a stub; `tinyddpg grade` checks each part with the
student's function planted into the engine and the engine's own code everywhere else, so one mistake costs one
part: no two parts share a function.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Part:
    name: str  # the id used on the command line and in reports
    function: str  # "nn.py:Dense.backward": the engine function the student writes
    points: int
    task: str  # what to write, in one or two sentences
    guide: str  # where docs/guide.md (or the module docstring) derives it
    td3: bool = False  # part of the optional second assignment

    @property
    def module_file(self) -> str:
        return self.function.split(":")[0]

    @property
    def qualname(self) -> str:
        return self.function.split(":")[1]


PARTS = [
    Part("dense_backward", "nn.py:Dense.backward", 10,
         "Backward pass of y = x @ W + b: add dL/dW and dL/db into self.dW and self.db in place (+=), return dL/dx.",
         "docs/guide.md section 4.1 (Dense)"),
    Part("relu_backward", "nn.py:ReLU.backward", 5,
         "Backward pass of y = max(x, 0), using the mask forward() cached.", "docs/guide.md section 4.2 (ReLU)"),
    Part("tanh_backward", "nn.py:Tanh.backward", 5,
         "Backward pass of y = tanh(x), using the output forward() cached.", "docs/guide.md section 4.3 (Tanh)"),
    Part("mse", "losses.py:mse", 5,
         "The mean squared error and its gradient with respect to the prediction; refuse mismatched shapes.",
         "docs/guide.md section 4.5 (MSE and the one division by B)"),
    Part("adam_step", "optim.py:Adam.step", 10,
         "One Adam step on every parameter array, in place, with PyTorch's bias correction and eps placement.",
         "docs/guide.md section 5 (Adam)"),
    Part("td_target", "agent.py:DDPG.td_target", 10,
         "The TD target y = r + gamma (1 - terminated) Q'(s', a') from the target networks, with a' from "
         "self.target_action and Q' from self.target_q (TD3 changes those two).",
         "docs/guide.md section 2.1 and section 3, step 1"),
    Part("critic_gradients", "agent.py:DDPG.compute_critic_gradients", 10,
         "The critic's loss mean((Q(s, a) - y)^2) and its parameter gradients, left in flat_grads.",
         "docs/guide.md section 3, step 2"),
    Part("action_gradient", "networks.py:Critic.action_gradient", 5,
         "dL/da, the critic's gradient with respect to its action input, without touching its parameter gradients.",
         "docs/guide.md section 4.6 (the critic's action gradient dQ/da)"),
    Part("actor_gradient", "agent.py:DDPG.compute_actor_gradients", 10,
         "The actor's loss -mean(Q(s, mu(s))) and its parameter gradients, through dQ/da.",
         "docs/guide.md sections 2.3 and 4.7 (the actor loss and the chain to the actor)"),
    Part("polyak", "agent.py:soft_update", 5,
         "Polyak averaging of a target network toward its online network, in place.",
         "docs/guide.md section 6 (target networks and Polyak averaging)"),
    Part("replay_sample", "buffer.py:ReplayBuffer.sample", 5,
         "Draw a batch uniformly, with replacement, from the filled slots, and split its rows into the five fields.",
         "docs/guide.md section 3 (the batch: ReplayBuffer.sample)"),
    Part("ou_noise", "noise.py:OrnsteinUhlenbeckNoise.sample", 5,
         "One Euler-Maruyama step of the Ornstein-Uhlenbeck process; return the new noise.",
         "docs/guide.md section 2.6 (exploration)"),
    Part("td3_clipped_double_q", "agent.py:DDPG.target_q", 10,
         "TD3 fix 1: the target value Q'(s', a'); with twin critics min(Q1', Q2') of the two target critics.",
         "the TD3 notes at the top of agent.py, and docs/guide.md section 9.2 (overestimation)", td3=True),
    Part("td3_target_smoothing", "agent.py:DDPG.target_action", 10,
         "TD3 fix 2: the target action mu'(s') plus clipped Gaussian noise, clipped to the action bounds.",
         "the TD3 notes at the top of agent.py", td3=True),
    Part("td3_policy_delay", "agent.py:DDPG.update", 10,
         "TD3 fix 3: the whole update, with the actor step and the Polyak updates only on every d-th critic update.",
         "the TD3 notes at the top of agent.py, and docs/guide.md section 3", td3=True),
]
PARTS_BY_NAME = {part.name: part for part in PARTS}
DDPG_PARTS = [part.name for part in PARTS if not part.td3]
TD3_PARTS = [part.name for part in PARTS if part.td3]



@dataclass(frozen=True)
class TrainingPart:
    """The last parts: training with every part the student wrote, at once (so they may lose points for any of
    them). Their numbers are defined here alone: training.py trains with them, the student README states them."""

    name: str
    points: int
    environment: str  # what it trains on, in words
    steps: int  # environment steps of the run
    passing: float  # the mean evaluation return at the end must be above this
    baseline: str  # what a random policy scores, for scale


TRAINING_PARTS = [
    TrainingPart("training_bandit", 10, "a contextual bandit", 1_500, -0.05, "a random policy scores about -0.4"),
    TrainingPart("training_pendulum", 5, "Pendulum-v1", 6_000, -800.0, "a random policy scores about -1,200"),
]
TRAINING_BY_NAME = {part.name: part for part in TRAINING_PARTS}
TRAINING_BANDIT_POINTS = TRAINING_BY_NAME["training_bandit"].points
TRAINING_PENDULUM_POINTS = TRAINING_BY_NAME["training_pendulum"].points
