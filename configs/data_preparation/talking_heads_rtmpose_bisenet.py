# Data preparation as designed: YuNet face boxes, RTMPose-m 68-point face landmarks (mmpose),
# BiSeNet face parsing (mmseg). Download the two checkpoints first:
#   landmarks: https://download.openmmlab.com/mmpose/v1/projects/rtmposev1/rtmpose-m_simcc-coco-wholebody-face_pt-aic-coco_60e-256x256-62026ef2_20230228.pth
#   parsing:   79999_iter.pth of zllrunning/face-parsing.PyTorch, converted with
#              tools/model_converters/face_parsing_bisenet_to_mmseg.py
# and put them under checkpoints/ (or change the paths below).
#   python tools/dataset_converters/prepare_talking_heads.py VIDEOS OUT \
#       --config configs/data_preparation/talking_heads_rtmpose_bisenet.py --workers 4
preparation = dict(
    size=512,
    crop_scale=2.0,
    stride=1,
    smooth_sigma=2.0,
    min_face_size=96,
    min_landmark_score=0.5,
    min_blur=15.0,
    batch_size=32)
detector = dict(type='YuNetFaceDetector', score_threshold=0.6)
landmarker = dict(
    type='MMPoseFaceLandmarker',
    config='mmpose::face_2d_keypoint/rtmpose/coco_wholebody_face/'
    'rtmpose-m_8xb32-60e_coco-wholebody-face-256x256.py',
    checkpoint='checkpoints/rtmpose-m_simcc-coco-wholebody-face_pt-aic-coco_60e-256x256-'
    '62026ef2_20230228.pth',
    device='auto')
parser = dict(
    type='MMSegFaceParser',
    config='configs/face_parsing/bisenet_r18_4xb4-80k_celebamask-hq-512x512.py',
    checkpoint='checkpoints/face_parsing_bisenet_r18_celebamask-hq.pth',
    device='auto')
