# Metrics of the evaluation protocols (SPEC section 5). Leaf configs pick a list with
# `test_evaluator = {{_base_.<name>}}`. Nothing is downloaded: each network loads from a
# file you provide (a path or an URL that you choose), or runs with RANDOM weights (warned)
# when its checkpoint is None - numbers are then only comparable within one run.
#   insightface arcface_torch `backbone.pth` of an IResNet-100 (as stage 1's identity encoder)
eval_arcface_checkpoint = 'checkpoints/arcface_ms1mv3_r100_backbone.pth'
#   torchvision's ImageNet AlexNet (LPIPS backbone; the lpips package ships the linear layers)
eval_lpips_backbone_checkpoint = 'checkpoints/alexnet-owt-7be5be79.pth'
#   pytorch-fid's port of the TF Inception graph (the FID of the literature)
eval_fid_inception_checkpoint = 'checkpoints/pt_inception-2015-12-05-6726825d.pth'
# crop_scale of the prepared data (index.json metainfo): where the face window lies
eval_crop_scale = 2.0

# CSIM to the sources (and to the target when it is the same person), ID retrieval
identity_metric = dict(
    type='IdentitySimilarity',
    identity_encoder=dict(
        type='ArcFaceIdentityEncoder', depth=100, checkpoint=eval_arcface_checkpoint,
        crop_scale=eval_crop_scale))
# head pose (PnP) / expression error and AKD between output and driver, from 68 landmarks
# (offline MediaPipe face mesh; or dict(type='MMPoseFaceLandmarker', checkpoint=...))
pose_metric = dict(
    type='PoseExpressionError', landmarker=dict(type='MediaPipeFaceMeshLandmarker'),
    crop_scale=eval_crop_scale)
psnr_metric = dict(type='PSNR')
ssim_metric = dict(type='SSIM')
lpips_metric = dict(type='LPIPS', net='alex', backbone_checkpoint=eval_lpips_backbone_checkpoint)
fid_metric = dict(
    type='FID', inception=dict(type='FIDInceptionV3', checkpoint=eval_fid_inception_checkpoint))
# the blender: whole image, A's head and the inpainted region
blend_regions = dict(whole=None, head='head_mask', inpaint='inpaint_mask')
region_psnr_metric = dict(type='PSNR', regions=blend_regions)
region_lpips_metric = dict(
    type='LPIPS', net='alex', backbone_checkpoint=eval_lpips_backbone_checkpoint,
    regions=blend_regions)

# the protocols
self_reenactment_metrics = [
    identity_metric, pose_metric, psnr_metric, ssim_metric, lpips_metric, fid_metric]
cross_identity_metrics = [identity_metric, pose_metric, fid_metric]
reconstruction_metrics = [region_psnr_metric, ssim_metric, region_lpips_metric, fid_metric]
# validation during training: cheap and meaningful on few samples (no FID)
aligner_val_metrics = [identity_metric, pose_metric, psnr_metric, ssim_metric, lpips_metric]
blender_val_metrics = [region_psnr_metric, ssim_metric, region_lpips_metric]

# the full swap (HeadSwapper): the driver is the target frame T (`target_img`)
swap_identity_metric = dict(identity_metric, driver_key='target_img')
swap_pose_metric = dict(pose_metric, driver_key='target_img')
swap_cross_identity_metrics = [swap_identity_metric, swap_pose_metric, fid_metric]
swap_self_reenactment_metrics = [
    swap_identity_metric, swap_pose_metric, region_psnr_metric, ssim_metric,
    region_lpips_metric, fid_metric]
