"""Redact a folder of clips into another, as `redact IN -o OUT` does, from Python.

    python examples/batch_folder.py IN_FOLDER OUT_FOLDER

Each file is redacted on its own; a failure is reported and the others go on. An output
already complete (same input, same settings) is skipped, so the script can be rerun after
an interruption. The exit status is 1 when any file failed.
"""
import sys
from pathlib import Path

import redact


def main(src: Path, dst: Path) -> int:
    policy = redact.Policy(profile=redact.Profile.FAST)
    detectors = redact.detectors_for(policy)  # loaded once for all files
    failed = 0
    for clip in sorted(p for p in src.rglob("*") if p.suffix.lower() in (".mp4", ".mov", ".mkv", ".avi")):
        out = (dst / clip.relative_to(src)).with_suffix(".mp4")
        try:
            manifest = redact.redact_file(clip, out, policy, detectors=detectors, skip_complete=True)
        except Exception as exc:  # report and go on: one damaged clip must not stop the folder
            failed += 1
            print(f"failed: {clip}: {exc}", file=sys.stderr)
            continue
        if manifest is None:
            print(f"already complete: {out}")
        else:
            print(f"redacted: {out} ({manifest.frames_out} frames, {len(manifest.flagged_frames)} flagged)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
