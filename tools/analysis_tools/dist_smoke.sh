#!/usr/bin/env bash
# A distributed training smoke run: train, stop at an iteration (as if killed), resume with
# --resume, then test; report images/s per GPU and the iteration the resumed run starts at.
#
#   [BATCH=per-GPU batch] tools/analysis_tools/dist_smoke.sh CONFIG GPUS ITERS WORK_DIR [k=v ...]
#
# The first run stops at ITERS/2 (max_iters=ITERS/2, a checkpoint at the end); the resumed
# run continues to ITERS. Logs: WORK_DIR/{first,resume,test}.log. NCCL on GPUs, gloo on CPUs.
# LAUNCHER=none runs tools/train.py / tools/test.py in one process instead (no DDP; GPUS is
# then only the count used in the report); NO_TEST=1 skips the test run (configs without a
# test loop, e.g. fine-tuning). TRAIN_ARGS: extra arguments of the train tool (e.g. --amp).
set -euo pipefail
CONFIG=$1; GPUS=$2; ITERS=$3; WORK=$4; shift 4
BATCH=${BATCH:-1}
set -- "$@" train_dataloader.batch_size=$BATCH
DIR=$(cd "$(dirname "$0")/.." && pwd)
HALF=$((ITERS / 2))
LOG=$(( HALF < 20 ? 1 : 10 ))
# each logged `time` is the mean of the LOG iterations since the previous line
set -- "$@" log_processor.window_size=$LOG
mkdir -p "$WORK"
COMMON=(--work-dir "$WORK")
if [ "${LAUNCHER:-pytorch}" = none ]; then
    train() { ${PYTHON:-python3} "$DIR/train.py" "$@"; }         # CONFIG args...
    run_test() { ${PYTHON:-python3} "$DIR/test.py" "$@"; }       # CONFIG CKPT args...
else
    train() { "$DIR/dist_train.sh" "$1" "$GPUS" "${@:2}"; }
    run_test() { "$DIR/dist_test.sh" "$1" "$2" "$GPUS" "${@:3}"; }
fi
train "$CONFIG" "${COMMON[@]}" ${TRAIN_ARGS:-} --cfg-options "$@" \
    train_cfg.max_iters=$HALF default_hooks.checkpoint.interval=$HALF \
    default_hooks.logger.interval=$LOG > "$WORK/first.log" 2>&1
PORT=$((${PORT:-29500} + 1)) train "$CONFIG" "${COMMON[@]}" ${TRAIN_ARGS:-} --resume \
    --cfg-options "$@" train_cfg.max_iters=$ITERS default_hooks.checkpoint.interval=$HALF \
    default_hooks.logger.interval=$LOG > "$WORK/resume.log" 2>&1
if [ "${NO_TEST:-0}" != 1 ]; then
    PORT=$((${PORT:-29500} + 2)) run_test "$CONFIG" "$WORK/iter_$ITERS.pth" \
        "${COMMON[@]}" --cfg-options "$@" > "$WORK/test.log" 2>&1
fi
${PYTHON:-python3} - "$WORK" "$GPUS" "$BATCH" <<'PY'
import re, sys
work, gpus, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def times(path):
    text = open(path).read()
    return text, [float(t) for t in re.findall(r'Iter\(train\).*?\stime: ([\d.]+)', text)]
first, t1 = times(f'{work}/first.log')
resume, t2 = times(f'{work}/resume.log')
start = re.search(r'resumed epoch: \d+, iter: (\d+)', resume)
iters = [int(i) for i in re.findall(r'Iter\(train\) \[\s*(\d+)/', resume)]
# logged windows of both runs: cudnn autotuning (each new K or batch shape, again after the
# resume) makes the first windows several times slower; the fastest window is the steady state
steady = sorted(t1 + t2)
sec, median = steady[0], steady[len(steady) // 2]
print(f'batch/GPU {b}, GPUs {gpus}: steady {sec * 1000:.0f} ms/iter (fastest logged window; '
      f'median {median * 1000:.0f} ms), {b / sec:.2f} images/s per GPU, '
      f'{b * gpus / sec:.2f} images/s total')
print(f'resumed at iteration {start.group(1) if start else "?"}; first logged iteration after '
      f'resume: {iters[0] if iters else "?"}; last: {iters[-1] if iters else "?"}')
PY
[ "${NO_TEST:-0}" = 1 ] || tail -3 "$WORK/test.log"
