"""What can this device redact? `redact bench` with settings that suit a Raspberry Pi.

    python examples/pi_benchmark.py [--clip FILE] [any other `redact bench` option]

It draws the demo scene (a real face walking, bystanders, a plate) at 720p only (1080p takes
a Pi far longer than the ten minutes this aims at), runs the ``fast`` profile detecting on
every frame and on every third (the motion check covers the frames between), beside the
decode + encode ceiling and deface, and prints one table, with the machine it ran on, to
paste into an issue.

On a Pi 4 or 5 with 64-bit Raspberry Pi OS (Python 3.11)::

    python3 -m venv ~/redact && . ~/redact/bin/activate
    pip install redactcam && redact models fetch
    python examples/pi_benchmark.py
"""
import sys

from redact.bench import main as bench

PI_DEFAULTS = ["--sizes", "720p", "--profiles", "fast", "--detect-every", "1", "3"]


def main(argv=None) -> int:
    # Options given later win in argparse: the caller's override these defaults.
    return bench(PI_DEFAULTS + list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    raise SystemExit(main())
