"""Push camera frames through `redact` one at a time, as a camera app would.

    python examples/stream_frames.py [VIDEO] [--profile fast]

With a video file, its frames stand in for a camera; without one, a drawn scene with a
plate-like sign does. Live use sets the look-ahead to 0, so each frame comes back as soon
as it is redacted (only the tracker's backward hold protects entering objects). A privacy
zone (the neighbour's window) applies live; so would keep zones (`redact.Incident`).
"""
import argparse
import time

import numpy as np

import redact


def camera(path=None, frames=90):
    """Frames as RGB arrays from a file, or a drawn scene, reusing one buffer like a camera."""
    if path:
        import av

        with av.open(path) as container:
            for frame in container.decode(video=0):
                yield frame.to_ndarray(format="rgb24")
        return
    import cv2

    buffer = np.empty((360, 640, 3), np.uint8)
    for i in range(frames):
        buffer[:] = 120
        x = 20 + 5 * i
        cv2.rectangle(buffer, (x, 200), (x + 200, 245), (250, 250, 250), -1)
        cv2.putText(buffer, "AB12 CDE", (x + 12, 236), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (10, 10, 10), 3)
        yield buffer


def frame_rate(path=None):
    """The camera's frame rate: the file's own, or 30 for the drawn scene. Holds are given
    in seconds and counted in frames at this rate: a wrong rate makes them too short."""
    if not path:
        return 30
    import av

    with av.open(path) as container:
        return container.streams.video[0].average_rate or 30


def main(path=None, profile="fast"):
    # ``fast`` keeps up with a camera on small devices; ``balanced`` finds more but runs at
    # about 1-2 frames a second here (see `redact bench`).
    policy = redact.Policy(lookahead_seconds=0, profile=profile, zones=(redact.Zone(0.8, 0, 0.2, 0.2),))
    redactor = redact.Redactor(policy, fps=frame_rate(path))
    start, count, worst, first = time.perf_counter(), 0, 0.0, None
    for frame in camera(path):
        pushed = time.perf_counter()
        for done in redactor.push(frame):
            count += 1
            waited = time.perf_counter() - pushed
            # The first frame also compiles kernels and warms the models: reported apart.
            if first is None:
                first = waited
            else:
                worst = max(worst, waited)
            # done.rgb is the redacted frame: send or store it here.
    for done in redactor.flush():
        count += 1
    elapsed = time.perf_counter() - start
    counts = redactor.manifest("video").counts
    print(f"{count} frames, {count / elapsed:.1f} fps, worst latency {worst * 1000:.0f} ms after the first "
          f"frame ({(first or 0) * 1000:.0f} ms, warm-up) (declared latency {redactor.latency} frames); "
          f"regions per kind: { {k: v['frames'] for k, v in counts.items()} }")


if __name__ == "__main__":
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("video", nargs="?")
    args.add_argument("--profile", default="fast", choices=[p.value for p in redact.Profile])
    ns = args.parse_args()
    main(ns.video, ns.profile)
