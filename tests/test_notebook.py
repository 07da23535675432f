"""examples/tour.ipynb runs top to bottom in a real Jupyter kernel (nbclient), with short settings; a failing cell
fails this test with that cell's error. Also: the notebook is stored without outputs."""

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

TOUR = Path(__file__).resolve().parent.parent / "examples" / "tour.ipynb"
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # IPython colours its tracebacks
SHORT_STEPS = 1_200  # past update_after (1,000) and one evaluation: every cell has something to show


def outputs_of(notebook, marker):
    """The outputs of the one code cell whose source contains `marker`."""
    [cell] = [cell for cell in notebook.cells if cell.cell_type == "code" and marker in cell.source]
    return cell.outputs


def text_of(outputs):
    return "".join(output.get("text", "") for output in outputs)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("tour") / "run"
    notebook = nbformat.read(TOUR, as_version=4)
    with pytest.MonkeyPatch.context() as patch:  # the kernel inherits this environment
        patch.setenv("TOUR_STEPS", str(SHORT_STEPS))
        patch.setenv("TOUR_RUN_DIR", str(run_dir))
        patch.setenv("TINYDDPG_SOURCE", "/nonexistent: tinyddpg must already be importable here")
        client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(TOUR.parent)}})
        try:
            client.execute()
        except CellExecutionError as error:
            pytest.fail(f"a cell of {TOUR.name} failed:\n{ANSI_COLOUR.sub('', str(error))}", pytrace=False)
    return notebook, run_dir


def test_the_tour_is_stored_without_outputs():
    notebook = nbformat.read(TOUR, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)


def test_the_install_cell_says_which_backend_and_why(executed):
    notebook, _ = executed
    assert text_of(outputs_of(notebook, "def cuda_driver_major")) == "nvidia-smi: no GPU\n"  # nor an install:
    # tinyddpg is importable here already (this machine and CI have no GPU)
    assert "backend numpy: nvidia-smi finds no GPU here" in text_of(outputs_of(notebook, "cupy_problem() is None"))


def test_where_nvidia_smi_finds_a_gpu_but_cupy_cannot_run_the_backend_cells_say_so_and_keep_numpy(tmp_path):
    """A stand-in nvidia-smi on PATH reports a CUDA 12 driver; CuPy is not installed here (nor in CI)."""
    (tmp_path / "nvidia-smi").write_text("#!/bin/sh\necho '| NVIDIA-SMI 550.54  Driver Version: 550.54  CUDA Version: 12.4 |'\n")
    (tmp_path / "nvidia-smi").chmod(0o755)
    notebook = nbformat.read(TOUR, as_version=4)
    backend_cell = next(i for i, cell in enumerate(notebook.cells) if "cupy_problem() is None" in cell.source)
    notebook.cells = notebook.cells[:backend_cell + 1]  # settings, install, backend
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
        NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(TOUR.parent)}}).execute()
    assert text_of(outputs_of(notebook, "def cuda_driver_major")) == "nvidia-smi: a GPU, CUDA 12\n"
    text = text_of(outputs_of(notebook, "cupy_problem() is None"))
    assert "backend numpy: nvidia-smi finds a GPU, but CuPy is not installed" in text
    assert "To use it: pip install cupy-cuda12x, restart the kernel" in text


def test_the_update_cell_prints_every_shape(executed):
    notebook, _ = executed
    text = text_of(outputs_of(notebook, "def walk"))
    actor = [("Dense", "W (3, 400), b (400,)", 400), ("ReLU", "", 400), ("Dense", "W (400, 300), b (300,)", 300),
             ("ReLU", "", 300), ("Dense", "W (300, 1), b (1,)", 1), ("Tanh", "", 1), ("ScaleShift", "", 1)]
    critic = [("Dense", "W (4, 400), b (400,)", 400), *actor[1:4], ("Dense", "W (300, 1), b (1,)", 1)]
    expected = ["obs        (256, 3)", "action     (256, 1)", "reward     (256,)", "next_obs   (256, 3)",
                "terminated (256,)", "actor mu(s): input (256, 3)", "critic Q([s, a]): input (256, 4)",
                "Q'(s', mu'(s'))          (256,)", "Q(s, a) (256,)", "action input (256, 1)",
                f"critic.flat_grads ({4 * 400 + 400 + 400 * 300 + 300 + 300 + 1},)",  # the preset's 400-300 critic
                f"actor.flat_grads ({3 * 400 + 400 + 400 * 300 + 300 + 300 + 1},)", "'critic_loss'", "Polyak"]
    expected += [f"{i}. {name:<10} {params:<26} -> (256, {width})" for i, (name, params, width) in enumerate(actor)]
    expected += [f"{i}. {name:<10} {params:<26} -> (256, {width})" for i, (name, params, width) in enumerate(critic)]
    for line in expected:
        assert line in text, line


def test_the_gradient_check_cell_reports_every_check_and_passes(executed):
    notebook, _ = executed
    text = text_of(outputs_of(notebook, "standard_reports() + agent_reports()\nfor report"))
    assert text.count("rel error") == 7 and "PASS: worst relative error" in text


def test_training_shows_a_notebook_progress_bar_and_fills_the_run_folder(executed):
    notebook, run_dir = executed
    outputs = outputs_of(notebook, "counters = train(config, RUN_DIR)")
    widgets = [output for output in outputs if "application/vnd.jupyter.widget-view+json" in output.get("data", {})]
    assert widgets, "no progress bar widget: tqdm.auto did not pick its notebook bar"
    states = [model["state"] for model in notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]
              ["state"].values()]
    texts = [state["value"].replace("\u2007", " ") for state in states if isinstance(state.get("value"), str)]
    assert any(f"{SHORT_STEPS}/{SHORT_STEPS} [" in text and " steps/s | ETA 0m00s | episodes 6 | return -" in text
               and " | eval -" in text for text in texts), texts
    assert [state["bar_style"] for state in states if "bar_style" in state] == ["success"]  # full, closed
    assert "\r" not in text_of(outputs)  # no terminal line redrawn into the cell
    assert f"{SHORT_STEPS:,} steps" in text_of(outputs)
    assert {"progress.csv", "checkpoint.npz", "config.json"} <= {path.name for path in run_dir.iterdir()}


def test_the_curve_and_the_policy_animation_are_shown_inline(executed):
    notebook, run_dir = executed
    outputs = outputs_of(notebook, "record_gif(")
    kinds = [kind for output in outputs for kind in output.get("data", {}) if kind.startswith("image/")]
    assert kinds == ["image/png", "image/gif"]
    assert "noise-free return" in text_of(outputs) and "200 frames" in text_of(outputs)
    assert (run_dir / "curve.png").exists() and (run_dir / "policy.gif").exists()


def test_the_coursework_cell_lets_the_gradient_check_find_the_broken_backward(executed):
    notebook, _ = executed
    text = text_of(outputs_of(notebook, "broken_tanh_backward"))
    assert "FAIL  worst rel error" in text and "  Tanh" in text
    assert text.count("FAIL  ") == 2 and text.count("pass  ") == 5
