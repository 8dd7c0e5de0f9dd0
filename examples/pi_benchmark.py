"""What can this device redact? `redact bench --pi`, from Python.

    python examples/pi_benchmark.py [--clip FILE] [any other `redact bench` option]

The same as ``redact bench --pi`` (which needs no checkout: it comes with ``pip install
redactcam``): the demo scene (a real face walking, bystanders, a plate) drawn at 720p, the
``pi`` profile and ``fast`` at their own cadences, beside the decode + encode ceiling and
deface, one table with the machine it ran on and a verdict (does this device keep up with
a camera, at which profile, how long a minute of footage takes), to paste into an issue.

On a Pi 4 or 5 with 64-bit Raspberry Pi OS (Python 3.11)::

    python3 -m venv ~/redact && . ~/redact/bin/activate
    pip install redactcam && redact models fetch
    redact bench --pi
"""
import sys

from redact.app.bench import main as bench


def main(argv=None) -> int:
    return bench(["--pi", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
