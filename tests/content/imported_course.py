"""A course brought from elsewhere, shaped like real public course notebooks: nbformat 4.4 and 3
notebooks without cell ids, with the properties editors' tools leave behind (Colab and VS Code
metadata, ``prompt_number``/``trusted``/``collapsed`` on cells, ``outputs`` on markdown cells,
a top-level ``worksheets``), outputs of every kind, and a notebook the course does not list."""

from __future__ import annotations

import base64
import json
from pathlib import Path

MANIFEST = """\
slug: imported
title: An imported course
environments:
  cpu: {image: "lms/scipy:latest"}
default_environment: cpu
lessons:
  - slug: arrays
    title: Arrays
    notebooks: [01-arrays/arrays.ipynb, 01-arrays/arrays-exercises.ipynb]
  - slug: history
    title: An old notebook
    notebooks: [02-history/history.ipynb]
  - slug: plots
    title: Plots
    notebooks: [03-plots/plots.ipynb]
"""

PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201a3b1c9b70000000049454e44ae426082"
)).decode()

# what Colab writes: no ids, nbformat 4.4 (4.0 in older exports), its own metadata
ARRAYS = {
    "nbformat": 4,
    "nbformat_minor": 0,
    "metadata": {
        "colab": {"name": "arrays.ipynb", "provenance": [], "collapsed_sections": []},
        "kernelspec": {"name": "python3"},  # Colab often writes the name alone
        "accelerator": "GPU",
        "language_info": {"name": "python"},
    },
    "cells": [
        {"cell_type": "markdown", "metadata": {"id": "intro"},
         "source": ["# Arrays\n", "\n", "Shapes, dtypes and broadcasting."]},
        {"cell_type": "code",
         "metadata": {"id": "imports", "colab": {"base_uri": "https://localhost:8080/"}},
         "execution_count": 1, "source": ["import numpy as np\n", "np.arange(6).reshape(2, 3)"],
         "outputs": [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                      "data": {"text/plain": ["array([[0, 1, 2],\n", "       [3, 4, 5]])"]}}]},
        # VS Code and Colab leave code-cell fields on markdown cells
        {"cell_type": "markdown", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "Broadcasting adds a row to every row:"},
        {"cell_type": "code", "metadata": {"collapsed": False, "scrolled": True,
                                           "ExecuteTime": {"start_time": "2019-03-01T10:00:00Z"}},
         "execution_count": 2, "trusted": True,
         "source": "a = np.ones((2, 3))\nprint(a + np.arange(3))",
         "outputs": [{"output_type": "stream", "name": "stdout",
                      "text": ["[[1. 2. 3.]\n", " [1. 2. 3.]]\n"]}]},
    ],
}

EXERCISES = {
    "nbformat": 4,
    "nbformat_minor": 4,
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}},
    "worksheets": [],  # left behind by a converter
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["## Your turn\n"]},
        {"cell_type": "code", "metadata": {"tags": ["exercise"]}, "execution_count": 7,
         "prompt_number": 7, "language": "python",
         "source": ["x = np.zeros(3)\n", "x[5]"],
         "outputs": [{"output_type": "error", "ename": "IndexError",
                      "evalue": "index 5 is out of bounds for axis 0 with size 3",
                      "traceback": ["\u001b[0;31mIndexError\u001b[0m"]}]},
        {"cell_type": "raw", "metadata": {"format": "text/plain"}, "source": "solution below"},
    ],
}

# nbformat 3, as notebooks from IPython 2 still are in many public courses
HISTORY = {
    "nbformat": 3,
    "nbformat_minor": 0,
    "metadata": {"name": "history"},
    "worksheets": [{
        "cells": [
            {"cell_type": "heading", "level": 1, "metadata": {}, "source": ["A short history"]},
            {"cell_type": "markdown", "metadata": {}, "source": ["Run the cell below."]},
            {"cell_type": "code", "collapsed": False, "input": ["print('1958: the perceptron')"],
             "language": "python", "metadata": {}, "prompt_number": 3,
             "outputs": [{"output_type": "stream", "stream": "stdout",
                          "text": ["1958: the perceptron\n"]}]},
        ],
        "metadata": {},
    }],
}

# nbformat 4.5 with ids, written by a tool with its own layout: a repeated id, an output image
PLOTS = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"},
                 "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}}},
    "cells": [
        {"id": "plot", "cell_type": "markdown", "metadata": {}, "source": "# Plots"},
        {"id": "plot", "cell_type": "code", "metadata": {}, "execution_count": 4,
         "source": "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])",
         "outputs": [{"output_type": "display_data", "metadata": {},
                      "data": {"image/png": PNG, "text/plain": "<Figure>"}}]},
    ],
}

SCRATCH = dict(EXERCISES, cells=EXERCISES["cells"][1:])  # not a lesson notebook


def write_imported_course(folder: Path) -> Path:
    """Write the course into ``folder``; return ``folder``."""
    folder.mkdir(parents=True)
    (folder / "course.yaml").write_text(MANIFEST)
    for name, nb, indent in (
        ("01-arrays/arrays.ipynb", ARRAYS, 2),
        ("01-arrays/arrays-exercises.ipynb", EXERCISES, 1),
        ("02-history/history.ipynb", HISTORY, 1),
        ("03-plots/plots.ipynb", PLOTS, 4),
        ("scratch/scratch.ipynb", SCRATCH, 1),
    ):
        path = folder / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(nb, indent=indent, ensure_ascii=False))
    return folder


def sources(path: Path) -> list[tuple[str, str]]:
    """``(cell_type, source)`` of every cell of a v4 notebook, sources as one string."""
    nb = json.loads(path.read_text())
    return [(c["cell_type"], "".join(c["source"])) for c in nb["cells"]]
