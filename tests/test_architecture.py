"""Dependency direction: the engine, the models and training never import Qt; classical use never loads torch."""

from __future__ import annotations

import subprocess
import sys


def run_fresh(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new interpreter, so sys.modules shows only what it imported."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_core_models_training_do_not_import_qt() -> None:
    done = run_fresh(
        "import sys, pkgutil, importlib, srdesk.core, srdesk.models, srdesk.training\n"
        "for pkg in (srdesk.core, srdesk.models, srdesk.training):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__):\n"
        "        importlib.import_module(pkg.__name__ + '.' + m.name)\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'srdesk.gui'))]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_classical_cli_does_not_import_torch() -> None:
    """Enlarging with a classical method starts fast: torch stays unloaded."""
    done = run_fresh(
        "import sys, numpy as np\n"
        "from srdesk.engine import pipeline\n"
        "pipeline.enhance(np.zeros((4, 4, 3), np.float32), 'bicubic', 2)\n"
        "sys.exit(1 if 'torch' in sys.modules else 0)\n"
    )
    assert done.returncode == 0, done.stdout + done.stderr
