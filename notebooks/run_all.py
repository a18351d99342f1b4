"""Execute every notebook in place, keeping outputs and figures (full settings unless
BAYES_SCALING_FAST=1): ``python notebooks/run_all.py``."""

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

os.environ.pop("MPLBACKEND", None)  # kernels must use the inline backend to save figures
here = Path(__file__).parent
for path in sorted(here.glob("*.ipynb")):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=1200, kernel_name="python3",
                   resources={"metadata": {"path": str(here)}}).execute()
    nbformat.write(nb, path)
    print(f"executed {path.name}")
