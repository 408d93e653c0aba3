# Head2Scene Blender (HeSer stage 2): semantic-guided exemplar warping + blending UNet + D_B.
# Label ids are CelebAMask-HQ's (docs/en/data_format.md). The head is skin, brows, eyes,
# glasses, ears, earring, nose, mouth, lips, hair and hat; neck, necklace, cloth and background
# belong to the scene. The dataset pipeline must use the same list (a test checks the configs).
head_labels = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 17, 18]
num_classes = 19

model = dict(
    type='Head2SceneBlender',
    data_preprocessor=dict(
        type='Head2SceneDataPreprocessor', head_labels=head_labels, num_classes=num_classes,
        empty_head='error'),
    # frozen; torchvision's ImageNet vgg19 state dict (vgg19-dcbb9e9d.pth), None = random
    vgg=dict(
        type='VGG19Features', layers=('relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1'),
        checkpoint=None),
    warping=dict(
        type='SemanticExemplarWarping',
        feature_layers=('relu3_1', 'relu4_1'),  # in_channels are read from the VGG
        proj_channels=256,
        downsample=4,  # 128x128 correlation grid for 512x512 images
        temperature=0.01,
        num_labels=num_classes,
        # 'auto': 'varlen' on CUDA (the stage-2 training step 1.27x 'blocked''s in fp32, 1.32x
        # in bf16 at batch 4, 512, one H100), 'blocked' on CPU; or 'dense' | 'perlabel' |
        # 'blocked' | 'flex' | 'varlen' (configs/head2scene/README.md)
        backend='auto',
        chunk_elems=1 << 24,
        label_fallback=None),  # None: DEFAULT_LABEL_FALLBACK (ears/nose/neck -> skin, ...)
    masks=dict(type='BlendingMasks', head_labels=head_labels, dilation=0.03),
    unet=dict(
        type='BlendingUNet', in_channels=14, out_channels=3, base_channels=64, max_channels=512,
        num_levels=7, num_res_blocks=1),
    discriminator=dict(
        type='MaskConditionedDiscriminator', in_channels=3, num_masks=2, base_channels=64,
        max_channels=512, num_layers=4, num_scales=2),
    perceptual_layers=('relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1'),
    # loss weights: the supplement gives none; pix2pixHD/SPADE-style choices
    loss_perceptual=dict(
        type='FeatureMatchingLoss', layer_weights=[1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0],
        loss_weight=10.0),
    loss_l1=dict(type='L1Loss', loss_weight=10.0),
    loss_cycle=dict(type='CycleConsistencyLoss', loss_weight=5.0),
    loss_gan=dict(type='HingeGANLoss', loss_weight=1.0),
    cycle_other_target='other')
