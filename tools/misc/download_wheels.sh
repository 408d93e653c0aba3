#!/usr/bin/env bash
# Fill WHEEL_DIR on a machine WITH package-index access, for tools/misc/offline_install.sh on a
# host without it (an air-gapped GPU node that already has torch + torchvision):
#
#   tools/misc/download_wheels.sh WHEEL_DIR [--python-version 3.12] [--platform P] [--all-deps]
#   # carry WHEEL_DIR over, then there:
#   tools/misc/offline_install.sh WHEEL_DIR [--target DIR]
#
# What it downloads, for the host's Python version (default: this machine's) and platform
# (default manylinux2014_x86_64), as binary wheels only:
# * the OpenMMLab packages training and the benchmarks import: mmengine 0.10.7 and
#   mmsegmentation 1.2.2 (requirements/constraints.txt), and the pure-Python packages they
#   import that a CUDA image with torch usually lacks (addict, termcolor, yapf, platformdirs,
#   ftfy, wcwidth);
# * the mmcv 2.1.0 source archive (no wheel exists for a new torch): offline_install.sh builds
#   it there against the host's own torch. Keep the wheel it builds (MMCV_WHEEL_OUT=DIR) in
#   WHEEL_DIR and the next install takes seconds.
# This is the set the project's own GPU runs use (tools/analysis_tools/gpu_host_env.sh), on a
# host whose Python has torch, torchvision, numpy, opencv, matplotlib, pyyaml, rich, regex and
# scipy. For a barer Python, --all-deps lets pip resolve every dependency of those packages
# for the target (torch, torchvision, triton and nvidia-* wheels are left out: the host's own
# are used).
set -euo pipefail
usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
OUT=$1; shift
PY=${PYTHON:-python3}
PYVER=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
PLATFORM=manylinux2014_x86_64
DEPS=0
while [ $# -gt 0 ]; do
    case $1 in
    --python-version) PYVER=$2; shift 2 ;;
    --platform) PLATFORM=$2; shift 2 ;;
    --all-deps) DEPS=1; shift ;;
    *) echo "download_wheels: unknown option $1" >&2; usage ;;
    esac
done
[[ $PYVER =~ ^3\.[0-9]+$ ]] || { echo "download_wheels: --python-version must look like 3.12, got $PYVER" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
pin() {  # the version requirements/constraints.txt pins for a package
    grep -E "^$1==" "$ROOT/requirements/constraints.txt" | head -n 1
}
OPENMMLAB=("$(pin mmengine)" "$(pin mmsegmentation)")
IMPORTED=(addict termcolor yapf platformdirs ftfy wcwidth)
mkdir -p "$OUT"
TMP=$(mktemp -d "$OUT/.download.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
ABI=cp${PYVER/./}
FLAGS=(--only-binary=:all: --python-version "$PYVER" --implementation cp --abi "$ABI"
       --platform "$PLATFORM" --platform any -d "$TMP")
if [ "$DEPS" = 1 ]; then
    "$PY" -m pip download -q "${FLAGS[@]}" "${OPENMMLAB[@]}" "${IMPORTED[@]}" regex
    rm -f "$TMP"/torch-*.whl "$TMP"/torchvision-*.whl "$TMP"/triton-*.whl "$TMP"/nvidia_*.whl
else
    "$PY" -m pip download -q --no-deps "${FLAGS[@]}" "${OPENMMLAB[@]}" "${IMPORTED[@]}"
fi
# the mmcv source archive from the package index's simple page, checked against the sha256 it
# lists (pip download would first prepare its metadata, which needs torch on this machine)
"$PY" - "$(pin mmcv)" "$TMP" <<'PYEOF'
import hashlib, html, os, re, sys, urllib.parse, urllib.request
name, version = sys.argv[1].split('==')
index = os.environ.get('PIP_INDEX_URL', 'https://pypi.org/simple').rstrip('/')
page = f'{index}/{name}/'
with urllib.request.urlopen(page, timeout=60) as r:
    text = r.read().decode()
wanted = f'{name}-{version}.tar.gz'
links = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', text)
         if wanted in urllib.parse.urlparse(html.unescape(h)).path]
if not links:
    sys.exit(f'download_wheels: {page} lists no {wanted}')
url, _, frag = urllib.parse.urljoin(page, links[0]).partition('#')
with urllib.request.urlopen(url, timeout=300) as r:
    data = r.read()
digest = dict(p.split('=', 1) for p in frag.split('&') if '=' in p).get('sha256')
if digest is None or hashlib.sha256(data).hexdigest() != digest:
    sys.exit(f'download_wheels: {wanted}: no sha256 on {page}, or it does not match')
with open(os.path.join(sys.argv[2], wanted), 'wb') as out:
    out.write(data)
PYEOF
[ -f "$TMP/mmcv-2.1.0.tar.gz" ] || { echo "download_wheels: mmcv-2.1.0.tar.gz did not download" >&2; exit 1; }
mv "$TMP"/* "$OUT"/  # only whole downloads reach WHEEL_DIR
echo "download_wheels: $(ls "$OUT" | wc -l) files in $OUT for CPython $PYVER ($PLATFORM)"
