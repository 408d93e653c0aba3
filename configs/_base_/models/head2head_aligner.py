# Head2Head Aligner (HeSer stage 1) at 512x512, as in the supplement (sec. 1, 3.2).
# Frozen networks load weights from local files (never downloaded):
#   VGG-19: torchvision's ImageNet `vgg19-dcbb9e9d.pth`;
#   ArcFace: insightface arcface_torch `backbone.pth` (ms1mv3_arcface_r100_fp16).
# See configs/head2head/README.md for where to get them.
model = dict(
    type='Head2HeadAligner',
    data_preprocessor=dict(type='Head2HeadDataPreprocessor'),
    # E_por: ResNeXt-50 (32x4d) -> d1 = 512, averaged over the K sources
    portrait_encoder=dict(
        type='ResNeXtEncoder', out_channels=512, depths=(3, 4, 6, 3), groups=32,
        width_per_group=4, input_size=256, spectral_norm=True, checkpoint=None),
    # E_id: frozen ArcFace IResNet-100 -> d2 = 512; crop_scale (and crop_center for a
    # y_offset) as the data were prepared with (index.json metainfo)
    identity_encoder=dict(
        type='ArcFaceIdentityEncoder', depth=100, crop_scale=2.0, crop_center=(0.5, 0.5),
        checkpoint='checkpoints/arcface_ms1mv3_r100_backbone.pth'),
    # E_pose, E_exp: MobileNetV2 -> d3 = d4 = 256, on the augmented driver
    pose_encoder=dict(
        type='MobileNetV2Encoder', out_channels=256, input_size=256, spectral_norm=True),
    expression_encoder=dict(
        type='MobileNetV2Encoder', out_channels=256, input_size=256, spectral_norm=True),
    driver_augmentation=dict(
        type='IdentityHidingAugmentation', brightness=0.3, contrast=0.3, saturation=0.3,
        hue=0.05, rotation=10.0, scale=(0.9, 1.1), translation=0.05),
    # 1536 -> 768 -> all AdaIN parameters (sizes filled in from the parts)
    mlp=dict(type='AdaINMLP', hidden_channels=768, spectral_norm=True),
    # LPD generator (4 -> 256 px) plus one upsampling block to 512 px
    generator=dict(
        type='LPDGenerator', channels=(512, 512, 512, 512, 256, 128, 64, 32),
        const_size=4, num_res_blocks=2, out_resolution=512, spectral_norm=True),
    discriminator=dict(
        type='PatchDiscriminator', base_channels=64, max_channels=512, num_layers=4,
        num_scales=2, spectral_norm=True),
    vgg=dict(
        type='VGG19Features', layers=('relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1'),
        checkpoint='checkpoints/vgg19-dcbb9e9d.pth'),
    # ---- loss weights: the one place to change them (the supplement gives none) ----
    losses=dict(
        l1=dict(type='L1Loss', loss_weight=10.0),  # eq. 1
        vgg=dict(  # eq. 2, VGG-19 (pix2pixHD's layer weights)
            type='FeatureMatchingLoss', loss_weight=10.0,
            layer_weights=(1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)),
        arcface_fm=dict(  # eq. 2, ArcFace layer1..layer4
            type='FeatureMatchingLoss', loss_weight=1.0, layer_weights=(1.0, 1.0, 1.0, 1.0)),
        disc_fm=dict(type='FeatureMatchingLoss', loss_weight=5.0),  # eq. 2, every D_A layer
        identity=dict(type='IdentityLoss', loss_weight=5.0),  # eq. 3
        gan=dict(type='HingeGANLoss', loss_weight=1.0),  # eqs. 4-5
        mask=dict(type='DiceLoss', loss_weight=5.0),  # head mask vs the target's parsing
    ),
    # EMA of the generator side, used for validation/testing and saved in checkpoints
    ema=dict(momentum=0.001, interval=1),
    test_use_ema=True)
