"""`import redact`, `import redact.app.cli` and `--help` stay fast: the libraries that take
a second or so to load (Numba's kernels, OpenCV, PyAV, ONNX Runtime, the cryptography behind
signing, Dask) load only when frames are detected, files are read or a command runs.

Each case runs in a fresh process, so what another test imported cannot hide a regression
(a sibling import hoisted to a module's top that drags one of these in, issue 27)."""
import json
import subprocess
import sys

import pytest

HEAVY = ("numba", "cv2", "av", "onnxruntime", "cryptography", "dask")

#: Runs ``redact ARGS`` in this process (as ``python -m redact`` does) without exiting.
_COMMAND = ("import runpy, sys\n"
            "sys.argv = ['redact', *{args!r}]\n"
            "try:\n"
            "    runpy.run_module('redact', run_name='__main__')\n"
            "except SystemExit:\n"
            "    pass\n")


def _loaded_heavy(code: str) -> list:
    """The `HEAVY` modules a fresh interpreter has loaded after running ``code``."""
    report = f"\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", code + report], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("code", ["import redact", "import redact.app.cli", "import redact.app.terminal",
                                  "import redact.app.launch",
                                  "import redact.core.policy", "import redact.detectors"])
def test_import_loads_no_heavy_library(code):
    assert _loaded_heavy(code) == []


@pytest.mark.parametrize("args", [["--help"], ["verify", "--help"], ["key", "--help"], ["pick", "--help"],
                                  ["demo", "--help"], ["models", "--help"]])
def test_help_loads_no_heavy_library(args):
    assert _loaded_heavy(_COMMAND.format(args=args)) == []


def test_heavy_libraries_load_when_used():
    """The check sees a heavy library when one is loaded (else it would pass vacuously)."""
    assert _loaded_heavy("import redact.record.signing, redact._kernels.track") == ["numba", "cryptography"]
