"""The example notebook runs top to bottom, offline (issue 8, section 3).

``examples/quickstart.ipynb`` starts its own chat-completions server on
127.0.0.1 and writes its own config and cache into a temp dir, so executing
it needs no model, key or network. Any cell that raises fails this test, with
the cell's error in the message.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"


@pytest.fixture
def python3_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The ``python3`` kernel, pinned to this interpreter.

    A machine-wide ``python3`` kernelspec may point at another Python (one
    without this checkout installed); ``$JUPYTER_PATH`` is searched first.
    """
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Python 3", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return "python3"


def test_quickstart_notebook_runs_top_to_bottom(python3_kernel: str) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(NOTEBOOK, as_version=4)

    client = nbclient.NotebookClient(
        nb,
        kernel_name=python3_kernel,
        timeout=180,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"a cell of {NOTEBOOK.name} failed:\n{exc}")

    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert 'class="lx-article"' in html  # the highlighted result was displayed
    assert "llm-extract-eval" in html or "F1" in html  # and the evaluation report
