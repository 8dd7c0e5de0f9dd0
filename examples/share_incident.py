"""Share a doorbell incident end to end: pick the subject, redact, review, verify.

    python examples/share_incident.py [FOLDER]

The doorbell clip is the demo's (`redact.app.demo.make_clip`: a person walking past parked
cars, two neighbours, a plate). The same steps on the command line::

    redact pick doorbell.mp4 --at 2                     # numbers every person and plate
    redact doorbell.mp4 -o shared.mp4 --window 1,3 --keep 1@2 --recipient "Anytown PD" --review
    redact verify shared.mp4 --key device.pub           # what the recipient runs
"""
import sys
from pathlib import Path

import redact
from redact.app.demo import make_clip
from redact.app.review import pick_frame, review_sheet


def main(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    clip = folder / "doorbell.mp4"
    make_clip(clip)
    # 1. Pick: which number is the person to keep, two seconds in?
    picture, numbered = pick_frame(clip, 2.0, overwrite=True)
    people = [(n, box) for n, kind, box in numbered if kind == "person"]
    print(f"pick: {len(numbered)} numbered at 2 s, drawn on {picture}")
    # The subject is the tallest person in the picture (the one walking past the door).
    number = max(people, key=lambda p: p[1][3] - p[1][1])[0]
    # 2. Redact: the window around the incident, that person kept, everyone else hidden.
    incident = redact.Incident(window=redact.Window(1.0, 3.0), subjects=(redact.Subject(t=2.0, number=number),),
                               request="example request 1", recipient="Anytown PD", purpose="parcel theft")
    shared = folder / "shared.mp4"
    manifest = redact.redact_video(clip, shared, redact.Policy(incident=incident), overwrite=True)
    kept = manifest.incident["subjects_kept"][0]
    print(f"redact: {manifest.frames_out} frames kept, subject #{number} shown in {kept['frames_shown']}")
    # 3. Review: what the recipient will see, before sending.
    print(f"review: {review_sheet(shared, overwrite=True)}")
    # 4. Verify: what the recipient runs.
    check = redact.verify_clip(shared)
    print("verify: " + ("verified" if check.ok else "NOT verified: " + "; ".join(check.problems)))
    return 0 if check.ok else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "incident-example")))
