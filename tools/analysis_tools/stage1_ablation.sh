#!/usr/bin/env bash
# Stage-1 learning ablation: variants of the aligner trained side by side on one GPU for
# the same wall-clock budget on the bundled sample, each scored on held-out frames by
# learning_check.py (against the mean face). Evidence for docs/en/stage1_learning.md.
#
#   tools/analysis_tools/stage1_ablation.sh OUT_DIR BUDGET_S [VARIANT ...]
#
# Variants (cfg-options of configs/head2head/head2head_aligner_lpd-arcface-r100_6xb1-1000k_voxceleb2-512.py):
#   paper      the paper's setting as configured before the stage-1 learning fix
#   head       reconstruct='head' (the head over a flat background, as LPD's generator)
#   pose       head + the driver's geometric augmentation moved onto driver and target
#              alike (PoseAugmentation); the driver-only part keeps colour jitter
#   pose-frame pose without head (the whole frame is reconstructed)
#   pose-nosn  pose + no spectral norm in the three trainable encoders
#   pose-lr10  pose + 10x learning rate on the pose / expression encoders and the MLP
#   pose-in    pose + the MLP's input standardised by running statistics (mlp.input_norm)
#   pose-in-lr10  pose-in + pose-lr10
#   pose-in-nosnmlp  pose-in without spectral norm in the AdaIN MLP
#   gn         GroupNorm in the three trainable encoders (as the 1-GPU config)
#   gn-warmup  gn + 2000 iterations without the adversarial / D feature-matching terms
#   gn-nosnmlp gn + no spectral norm in the AdaIN MLP
#   gn-in      gn + the MLP's input standardised by running statistics (mlp.input_norm)
#   gn-in-warmup, gn-nosnmlp-warmup  the two above + the adversarial warm-up
#   gn-in-b6   gn-in-warmup with 6 samples per step (the paper's 6 GPUs x 1 on one GPU)
#   gn-in-k8   gn-in-warmup with K = 8 sources every step (no source-count noise)
#   gn-in-nogeo  gn-in-warmup with colour-only driver augmentation (no driver-only affine)
#   gn-in-pose   gn-in-warmup with the affine applied to driver, target and mask alike
#   gn-in-nogeo-lmk  gn-in-nogeo + the driver's landmark heat maps into the generator
#                (the spatial driver path of the *-lmk config)
#   gn-in-nogeo-lmk-head  gn-in-nogeo-lmk with reconstruct='head'
#   gn-in-nogeo-lmk-b4    gn-in-nogeo-lmk with 4 samples per step
#   gn-in-nogeo-lmk-b4-256  gn-in-nogeo-lmk-b4 with the maps up to the 256-px block (the
#                variants above stop at 128 px)
#   gn-in-nogeo-lmk-b4-256-map256  gn-in-nogeo-lmk-b4-256 with the maps drawn at 256x256,
#                sigma 3 (the setting of the *-lmk config)
#   gn-in-nogeo-lmk-b4-256-pose  gn-in-nogeo-lmk-b4-256 + PoseAugmentation (driver, target,
#                mask and landmarks moved by one affine, in half of the samples)
# WARMUP=N sets the warm-up of the *-warmup variants (default 2000 iterations).
# CONFIG=... picks another base config (e.g. the tiny one on a CPU).
# Extra options for every variant: ARGS="--amp ..." (learning_check.py arguments), e.g.
# ARGS="--amp --cfg-options1 model.cuda_graphs=True".
set -uo pipefail
OUT=$1; BUDGET=$2; shift 2
VARIANTS=("$@")
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=(paper head pose pose-frame pose-nosn pose-lr10)
DIR=$(cd "$(dirname "$0")/../.." && pwd)
PY=${PYTHON:-python3}
WARMUP=${WARMUP:-2000}
CONFIG=${CONFIG:-configs/head2head/head2head_aligner_lpd-arcface-r100_6xb1-1000k_voxceleb2-512.py}
PAPER_AUG=(model.reconstruct=frame model.pose_augmentation=None model.driver_augmentation.rotation=10.0
           model.driver_augmentation.translation=0.05 "model.driver_augmentation.scale=(0.9,1.1)")
NO_GEO=(model.driver_augmentation.rotation=0.0 model.driver_augmentation.translation=0.0
        "model.driver_augmentation.scale=(1.0,1.0)")
POSE=(model.reconstruct=head model.pose_augmentation.type=PoseAugmentation "${NO_GEO[@]}")
GN=(model.portrait_encoder.norm_cfg.type=GN model.pose_encoder.norm_cfg.type=GN
    model.expression_encoder.norm_cfg.type=GN)
GN_IN_WARMUP=("${PAPER_AUG[@]}" "${GN[@]}" model.mlp.input_norm=True "model.gan_warmup=$WARMUP")
LMK=(model.landmark_map.type=LandmarkHeatmap model.landmark_map.size=128
     model.landmark_map.sigma=1.5 model.generator.cond_channels=8)
LR10=(optim_wrapper.generator.paramwise_cfg.custom_keys.pose_encoder.lr_mult=10.0
      optim_wrapper.generator.paramwise_cfg.custom_keys.expression_encoder.lr_mult=10.0
      optim_wrapper.generator.paramwise_cfg.custom_keys.mlp.lr_mult=10.0)
options() {
    case $1 in
    paper) echo "${PAPER_AUG[@]}" ;;
    head) echo "${PAPER_AUG[@]} model.reconstruct=head" ;;
    pose) echo "${POSE[@]}" ;;
    pose-frame) echo "${POSE[@]} model.reconstruct=frame" ;;
    pose-nosn) echo "${POSE[@]} model.pose_encoder.spectral_norm=False model.expression_encoder.spectral_norm=False model.portrait_encoder.spectral_norm=False" ;;
    pose-lr10) echo "${POSE[@]} ${LR10[@]}" ;;
    pose-in) echo "${POSE[@]} model.mlp.input_norm=True" ;;
    pose-in-lr10) echo "${POSE[@]} model.mlp.input_norm=True ${LR10[@]}" ;;
    pose-in-nosnmlp) echo "${POSE[@]} model.mlp.input_norm=True model.mlp.spectral_norm=False" ;;
    gn) echo "${PAPER_AUG[@]} ${GN[@]}" ;;
    gn-warmup) echo "${PAPER_AUG[@]} ${GN[@]} model.gan_warmup=$WARMUP" ;;
    gn-nosnmlp) echo "${PAPER_AUG[@]} ${GN[@]} model.mlp.spectral_norm=False" ;;
    gn-in) echo "${PAPER_AUG[@]} ${GN[@]} model.mlp.input_norm=True" ;;
    gn-in-warmup) echo "${GN_IN_WARMUP[@]}" ;;
    gn-in-b6) echo "${GN_IN_WARMUP[@]} train_dataloader.batch_size=6" ;;
    gn-in-k8) echo "${GN_IN_WARMUP[@]} train_dataloader.dataset.num_sources=8" ;;
    gn-in-nogeo) echo "${GN_IN_WARMUP[@]} ${NO_GEO[@]}" ;;
    gn-in-nogeo-lmk) echo "${GN_IN_WARMUP[@]} ${NO_GEO[@]} ${LMK[@]}" ;;
    gn-in-nogeo-lmk-head) echo "${GN_IN_WARMUP[@]} ${NO_GEO[@]} ${LMK[@]} model.reconstruct=head" ;;
    gn-in-nogeo-lmk-b4) echo "${GN_IN_WARMUP[@]} ${NO_GEO[@]} ${LMK[@]} train_dataloader.batch_size=4" ;;
    gn-in-nogeo-lmk-b4-256) echo "${GN_IN_WARMUP[@]} ${NO_GEO[@]} ${LMK[@]} train_dataloader.batch_size=4 model.generator.cond_max_size=256" ;;
    gn-in-nogeo-lmk-b4-256-map256) echo "$(options gn-in-nogeo-lmk-b4-256) model.landmark_map.size=256 model.landmark_map.sigma=3.0" ;;
    gn-in-nogeo-lmk-b4-256-pose) echo "$(options gn-in-nogeo-lmk-b4-256) model.pose_augmentation.type=PoseAugmentation model.pose_augmentation.rotation=10.0 model.pose_augmentation.prob=0.5" ;;
    gn-in-pose) echo "${POSE[@]} ${GN[@]} model.reconstruct=frame model.mlp.input_norm=True model.gan_warmup=$WARMUP" ;;
    gn-nosnmlp-warmup) echo "${PAPER_AUG[@]} ${GN[@]} model.mlp.spectral_norm=False model.gan_warmup=$WARMUP" ;;
    *) echo "unknown variant $1" >&2; return 1 ;;
    esac
}
mkdir -p "$OUT"
pids=()
for v in "${VARIANTS[@]}"; do
    opts=$(options "$v") || exit 2
    # shellcheck disable=SC2086
    (cd "$DIR" && "$PY" tools/analysis_tools/learning_check.py --stages 1 --budget "$BUDGET" \
        --random-weights --out "$OUT/$v" --stage1-config "$CONFIG" ${ARGS:-} \
        --cfg-options1 $opts model.ema.gamma=20 > "$OUT/$v.log" 2>&1; echo "$v exit $?" >> "$OUT/$v.log") &
    pids+=($!)
done
wait "${pids[@]}"
for v in "${VARIANTS[@]}"; do
    echo "### $v"; tail -n 1 "$OUT/$v.log"; sed -n '/^| output/,/^$/p' "$OUT/$v/report.md" 2>/dev/null
done
