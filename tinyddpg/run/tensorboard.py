"""TensorBoard events beside progress.csv (setting `tensorboard`, `tinyddpg train --tensorboard true`): every log
row's numbers as scalars at the row's environment step, one tag per column (episode_return, eval_return_mean,
critic_loss, ..., whatever columns the log has), written into the run folder itself.

    tensorboard --logdir runs/quickstart         # one run
    tensorboard --logdir sweeps/buffer           # a sweep: its runs side by side, named <setting>/seed<k>

Needs tensorboardX (`pip install -e ".[tensorboard]"` in a clone); viewing needs the `tensorboard` package.
"""

from __future__ import annotations

import math
from pathlib import Path

from .runlog import COLUMNS

INSTALL_HINT = "pip install tensorboardX==2.6.5 (or the extra: pip install -e '.[tensorboard]' in a tinyddpg clone)"


class TensorBoardLog:
    def __init__(self, run_dir: Path, start_step: int):
        """Open a new event file in run_dir for a session that starts after `start_step` (0, or the checkpoint's
        step on a resume). TensorBoard then hides earlier sessions' events after start_step (purge_step), as the
        CSV log drops its rows after the checkpoint, or starts over."""
        from tensorboardX import SummaryWriter  # here, not at the top: only runs that ask for it need it

        # Files are named by the second they open; the session number keeps two sessions in one second apart
        # and in order (TensorBoard reads a folder's event files in name order).
        session = len(list(Path(run_dir).glob("events.out.tfevents.*"))) + 1
        self.writer = SummaryWriter(logdir=str(run_dir), purge_step=start_step + 1, flush_secs=10,
                                    filename_suffix=f".session{session}")

    def write(self, row: dict) -> None:
        """The row's logged numbers (the progress.csv columns it has, except step) as scalars at its step."""
        for name, value in row.items():
            if name in COLUMNS and name != "step" and value is not None and math.isfinite(value):
                self.writer.add_scalar(name, value, global_step=row["step"])

    def close(self) -> None:
        self.writer.close()
