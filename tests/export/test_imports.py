"""Light imports: the formula, operator, rule-set and proxy modules import neither torch nor sympy."""

from __future__ import annotations

import json
import subprocess
import sys

LIGHT = ("lpzero_sr.proxy", "lpzero_sr.formula", "lpzero_sr.operators", "lpzero_sr.rules.ruleset", "lpzero_sr.export")


def test_light_modules_import_neither_torch_nor_sympy() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for name in {LIGHT!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in ('torch', 'sympy') if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_each_export_imports_its_own_library() -> None:
    code = (
        "import json, sys\n"
        "import lpzero_sr.export.julia\n"
        "julia = sorted(m for m in ('torch', 'sympy') if m in sys.modules)\n"
        "import lpzero_sr.export.text\n"
        "text = sorted(m for m in ('torch', 'sympy') if m in sys.modules)\n"
        "print(json.dumps([julia, text]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [[], ["sympy"]]
