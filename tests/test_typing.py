"""A camera app's type checker sees redact's real types (issue 26): mypy, run on a user's
script as that app's CI would, flags misuse of the public names `import redact` gives."""
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import redact

APP = '''\
import numpy as np

import redact

r = redact.Redactor(redact.Policy(lookahead_seconds=0, profile=redact.Profile.FAST), fps=10)
for done in r.push(np.zeros((48, 64, 3), np.uint8)):
    print(done.rgb.shape, done.index)
print(redact.verify_clip("shared.mp4").ok, redact.__version__)
redact.Redactr()
redact.Policy(lookahead_secs=0)
r.push("not a frame")
'''


def test_mypy_flags_misuse_in_a_users_script(tmp_path):
    pytest.importorskip("mypy", reason="mypy is not installed (pip install \".[test]\" installs it)")
    (tmp_path / "app.py").write_text(APP)
    # This checkout's redact, as an installed package would be found.
    env = {**os.environ, "PYTHONPATH": str(Path(redact.__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-m", "mypy", "--python-executable", sys.executable, "--no-incremental",
                           "--cache-dir", str(tmp_path / "cache"), "app.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert [e.split(":")[1] for e in errors] == ["9", "10", "11"], done.stdout + done.stderr
    assert 'no attribute "Redactr"' in errors[0] and '"lookahead_secs"' in errors[1]
    assert 'incompatible type "str"' in errors[2]


def test_the_stub_lists_the_public_names():
    """__init__.pyi re-exports exactly the names __init__.py loads lazily, from the same modules."""
    package = Path(redact.__file__).parent
    stub = ast.parse((package / "__init__.pyi").read_text())
    exported = {alias.asname: node.module for node in stub.body if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    assert exported == redact._PUBLIC
    assert (package / "py.typed").is_file()
