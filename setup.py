from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="tinyddpg",
    version="0.1.0",
    description="A from-scratch DDPG engine: hand-written layers, backward passes and Adam on NumPy or CuPy",
    long_description=(Path(__file__).parent / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["tinyddpg", "tinyddpg.*"]),
    data_files=[("share/tinyddpg", ["docs/guide.md"])],  # `assignment new` copies it (without the answers)
    install_requires=[
        "numpy>=2.0",
        "gymnasium[classic-control]>=1.0",
        "matplotlib>=3.7",
        "array-api-compat>=1.9",
        "threadpoolctl>=3.1",
        "pillow>=9.0",
        "tqdm>=4.66",
    ],
    extras_require={
        "mujoco": ["gymnasium[mujoco]>=1.0"],
        "cuda12": ["cupy-cuda12x>=13.0"],
        "cuda13": ["cupy-cuda13x>=13.6"],
        "ray": ["ray[default]>=2.9"],
        "tensorboard": ["tensorboardX==2.6.5"],  # writes the events; viewing them needs the tensorboard package
        "notebook": ["ipywidgets>=8.0"],  # the progress bar widget in Jupyter (Colab has it already)
        # the fused peer of benchmarks/bench_update.py and tests/test_jax_parity.py (skipped without it); CPU only
        "jax": ["jax==0.10.2", "jaxlib==0.10.2", "optax==0.2.8"],
        "test": [  # exact pins: CI tests what was tested here
            "pytest==9.0.3",
            "pytest-xdist==3.8.0",  # the suite runs on every core (pytest.ini: -n auto)
            "pytest-timeout==2.4.0",  # a deadline for every test (pytest.ini: timeout)
            "array-api-strict==2.6.1",
            "torch==2.13.0",
            "ruff==0.17.6",
            "ray==2.60.0",
            "gymnasium[mujoco]==1.4.0",
            "mujoco==4.0.0",  # the physics itself: results on the MuJoCo presets are reproducible only with one version
            "tqdm==4.70.1",
            "tensorboardX==2.6.5",
            "nbclient==0.11.0",
            "nbformat==5.11.1",
            "ipykernel==7.4.0",
            "ipywidgets==8.1.9",
            "stable-baselines3==2.9.2",  # needs torch>=2.8, gymnasium<2: works with the pins above
        ],
    },
    entry_points={"console_scripts": ["tinyddpg=tinyddpg.run.cli:main"]},
)
