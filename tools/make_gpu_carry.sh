#!/usr/bin/env bash
# Fill .carry/ (git-ignored) with what tools/gpu_run.py needs on a lent GPU machine, from ../shared.
#
#   tools/make_gpu_carry.sh            the full carry for the H200 image (data + face model +
#                                      dependency wheels + dlib model files), split into calls
#   tools/make_gpu_carry.sh --toy      6 stills and 2 short clips, no wheels or dlib files: the
#                                      CPU dry run (`tools/gpu_run.py --device cpu --toy`)
#
# Options: --shared DIR (default ../shared), --out DIR (default .carry; must be git-ignored),
# --congress N (portraits, default 300), --size PX (FRL London resized, default 640), --quality Q
# (JPEG, default 95), --no-wheels / --no-dlib (the target has those packages already; --wheels /
# --dlib add them to --toy), --xz-level N (dlib files, default 6: ~3 CPU minutes), --call-mib N
# (what one device call may carry; default 64 MiB minus the working tree, which travels with
# every call, minus 4 MiB).
#
# Layout. When everything fits in one call: .carry/data/{faces,videos}/...,
# .carry/ict_face_light.npz, .carry/wheels/*.whl, .carry/dlib/*.dat.xz; carry ".carry". When it
# does not (the H200 image lacks av, dlib-bin, filterpy, pooch, platformdirs and dlib's model
# files: ~120 MiB more than the data), one tar stream cut into .carry/call1/, .carry/call2/, ...:
# one device call per folder, each carrying its folder, back to back (the machine keeps ignored
# paths between calls only while it stays warm, 30 s), the last one running gpu_run.py, which
# joins the pieces (checked against their sha256). Full carry: 167 MiB in 3 calls. Nothing from
# ../shared goes into tracked files.
set -euo pipefail

cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
SHARED=../shared
OUT=.carry
CONGRESS=300
SIZE=640
QUALITY=95
TOY=0
WHEELS=""
DLIB=""
CALL_MIB=""
XZ_LEVEL=6
while [ $# -gt 0 ]; do
    case "$1" in
        --toy) TOY=1 ;;
        --shared) SHARED=$2; shift ;;
        --out) OUT=$2; shift ;;
        --congress) CONGRESS=$2; shift ;;
        --size) SIZE=$2; shift ;;
        --quality) QUALITY=$2; shift ;;
        --no-wheels) WHEELS=0 ;;
        --no-dlib) DLIB=0 ;;
        --wheels) WHEELS=1 ;;
        --dlib) DLIB=1 ;;
        --call-mib) CALL_MIB=$2; shift ;;
        --xz-level) XZ_LEVEL=$2; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
        *) echo "make_gpu_carry: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
# The toy carry is for this machine, which has every package: wheels and dlib files only when
# asked for (--wheels, --dlib: to exercise the split and the offline install).
: "${WHEELS:=$((1 - TOY))}" "${DLIB:=$((1 - TOY))}"

DATA=$SHARED/data
MODEL=$SHARED/facemodels/ict-facekit/ict_face_light.npz
for path in "$DATA/faces/frl_london" "$DATA/faces/congress" "$DATA/videos/grid" \
    "$DATA/videos/whitehouse" "$MODEL"; do
    [ -e "$path" ] || { echo "make_gpu_carry: missing $path (give --shared DIR)" >&2; exit 2; }
done
if ! git check-ignore -q "$OUT/x"; then
    echo "make_gpu_carry: $OUT is not git-ignored; refusing to put shared data there" >&2
    exit 2
fi

rm -rf "$OUT"
STAGE=$OUT/payload
mkdir -p "$STAGE/data/faces/frl_640" "$STAGE/data/faces/congress" "$STAGE/data/videos/grid" \
    "$STAGE/data/videos/whitehouse"
say() { echo "make_gpu_carry: $*" >&2; }

# Stills: FRL London resized (JPEG q95; source ids frl_640/london_NNN_0X.jpg, so the holdout glob
# 'frl_*/*_0?0*' splits by person), every k-th congress portrait (ids congress/NAME.jpg).
nice -n 10 env OMP_NUM_THREADS=1 python3 - "$DATA" "$STAGE/data/faces" "$SIZE" "$QUALITY" \
    "$CONGRESS" "$TOY" <<'PY'
import shutil
import sys
from pathlib import Path

from PIL import Image

data, out, size, quality, congress, toy = sys.argv[1:]
data, out = Path(data), Path(out)
size, quality, congress, toy = int(size), int(quality), int(congress), toy == "1"
frl = sorted((data / "faces/frl_london").glob("*/*.jpg"))
portraits = sorted((data / "faces/congress").glob("*.jpg"))
if toy:
    frl, portraits = frl[:3], portraits[:3]
else:
    step = max(1, len(portraits) // max(1, congress))
    portraits = portraits[::step][:congress]
for path in frl:
    with Image.open(path) as image:
        image = image.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)
        image.save(out / "frl_640" / f"london_{path.stem}.jpg", quality=quality, subsampling=0)
for path in portraits:
    shutil.copyfile(path, out / "congress" / path.name)
for name in ("frl_london", "congress"):
    target = "frl_640" if name == "frl_london" else name
    shutil.copyfile(data / "faces" / name / "SOURCE.md", out / target / "SOURCE.md")
print(f"make_gpu_carry: {len(frl)} FRL London stills at {size} px, {len(portraits)} portraits",
      file=sys.stderr)
PY

if [ "$TOY" = 1 ]; then
    cp "$DATA/videos/grid/bbaf2n.mpg" "$STAGE/data/videos/grid/"
    cp "$DATA/videos/whitehouse/wh_obama_05.mp4" "$STAGE/data/videos/whitehouse/"
else
    cp "$DATA"/videos/grid/*.mpg "$STAGE/data/videos/grid/"
    cp "$DATA"/videos/whitehouse/*.mp4 "$STAGE/data/videos/whitehouse/"
    if [ -d "$DATA/videos/crema_d" ]; then
        mkdir -p "$STAGE/data/videos/crema_d"
        cp "$DATA"/videos/crema_d/* "$STAGE/data/videos/crema_d/"
    fi
fi
for folder in grid whitehouse; do
    cp "$DATA/videos/$folder/SOURCE.md" "$STAGE/data/videos/$folder/"
done
cp "$MODEL" "$STAGE/ict_face_light.npz"

# Dependency wheels for the target's Python (3.12 on the H200 image), the versions installed
# here; pip download only (nothing is installed here).
if [ "$WHEELS" = 1 ]; then
    mkdir -p "$STAGE/wheels"
    PINS=$(python3 - <<'PY'
from importlib.metadata import version

print(" ".join(f"{name}=={version(name)}" for name in
               ("av", "dlib-bin", "filterpy", "pooch", "platformdirs")))
PY
)
    say "downloading wheels: $PINS"
    # shellcheck disable=SC2086
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version "${PY_VERSION:-3.12}" \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        --platform manylinux1_x86_64 -d "$STAGE/wheels" $PINS
fi

# dlib's model files (face-recognition-models has no wheel; its sdist is 100 MB): the 68-point
# predictor and the face descriptor network, xz-compressed.
if [ "$DLIB" = 1 ]; then
    MODELS=$(python3 -c "import importlib.util as u, pathlib; \
print(pathlib.Path(u.find_spec('face_recognition_models').origin).parent / 'models')")
    mkdir -p "$STAGE/dlib"
    for name in shape_predictor_68_face_landmarks.dat dlib_face_recognition_resnet_model_v1.dat; do
        say "compressing $name (xz -$XZ_LEVEL, single thread; minutes)"
        nice -n 10 xz -T1 "-$XZ_LEVEL" -c "$MODELS/$name" >"$STAGE/dlib/$name.xz"
    done
fi

# What travels anyway: tracked and untracked-not-ignored files.
TREE=$(git ls-files -z -co --exclude-standard | xargs -0 stat -c %s 2>/dev/null \
    | awk '{s += $1} END {print s + 0}')
PAYLOAD=$(du -sb "$STAGE" | cut -f1)
if [ -z "$CALL_MIB" ]; then
    CALL_BYTES=$((64 * 1048576 - TREE - 4 * 1048576))
else
    CALL_BYTES=$((CALL_MIB * 1048576))
fi
RUN_ARGS=""
[ "$OUT" = .carry ] || RUN_ARGS=" --carry $OUT"
[ "$TOY" = 1 ] && RUN_ARGS="$RUN_ARGS --device cpu --toy"
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
say "working tree that travels with every call: $(mib "$TREE")"
say "payload: $(mib "$PAYLOAD") (room per call: $(mib "$CALL_BYTES"))"
(cd "$STAGE" && du -sh data/*/* && find . -maxdepth 1 ! -name data ! -name . -exec du -sh {} +) \
    | sed 's/^/  /' >&2

if [ "$PAYLOAD" -le "$CALL_BYTES" ]; then
    mv "$STAGE"/* "$OUT"/
    rmdir "$STAGE"
    say "one call: carry [\"$OUT\"], command: python3 tools/gpu_run.py$RUN_ARGS"
else
    # One tar stream (its members are compressed already), cut into call-sized pieces.
    tar -C "$STAGE" -cf "$OUT/payload.tar" .
    SHA=$(sha256sum "$OUT/payload.tar" | cut -d' ' -f1)
    BYTES=$(stat -c %s "$OUT/payload.tar")
    split -b "$CALL_BYTES" -d -a 3 "$OUT/payload.tar" "$OUT/piece."
    rm -rf "$STAGE" "$OUT/payload.tar"
    COUNT=$(find "$OUT" -maxdepth 1 -name 'piece.*' | wc -l)
    i=0
    for piece in $(find "$OUT" -maxdepth 1 -name 'piece.*' | sort); do
        i=$((i + 1))
        mkdir -p "$OUT/call$i"
        mv "$piece" "$OUT/call$i/payload.tar.$(printf %03d $((i - 1)))"
        printf '{"pieces": %d, "bytes": %d, "sha256": "%s"}\n' "$COUNT" "$BYTES" "$SHA" \
            >"$OUT/call$i/payload.json"
    done
    say "$COUNT calls, one after another while the machine stays warm (30 s):"
    for j in $(seq 1 "$COUNT"); do
        if [ "$j" -lt "$COUNT" ]; then
            say "  call $j: carry [\"$OUT/call$j\"], command: ls -la $OUT"
        else
            say "  call $j: carry [\"$OUT/call$j\"], command: python3 tools/gpu_run.py$RUN_ARGS"
        fi
    done
fi
TOTAL=$(du -sb "$OUT" | cut -f1)
echo "carry: $OUT $(mib "$TOTAL") ($TOTAL bytes); with the working tree $(mib $((TOTAL + TREE)))"
