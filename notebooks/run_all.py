"""Execute notebooks in place, keeping outputs and figures (full settings unless
BAYES_SCALING_FAST=1): ``python notebooks/run_all.py [NAME.ipynb ...]`` (default: all)."""

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

os.environ.pop("MPLBACKEND", None)  # kernels must use the inline backend to save figures
here = Path(__file__).parent
chosen = [here / n for n in sys.argv[1:]] or sorted(here.glob("*.ipynb"))
for path in chosen:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=1200, kernel_name="python3",
                   resources={"metadata": {"path": str(here)}}).execute()
    nbformat.write(nb, path)
    print(f"executed {path.name}")
