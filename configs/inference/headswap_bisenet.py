# As headswap_offline.py, with the trained BiSeNet face parser (mmseg, on the GPU with the
# models) instead of the approximate one: YuNet + MediaPipe landmarks + BiSeNet, as in
# configs/data_preparation/talking_heads_mediapipe_bisenet.py (no mmpose needed). The parser
# weights: see configs/data_preparation/talking_heads_rtmpose_bisenet.py.
_base_ = ['./headswap_offline.py']

parser = dict(
    _delete_=True,
    type='MMSegFaceParser',
    config='configs/face_parsing/bisenet_r18_4xb4-80k_celebamask-hq-512x512.py',
    checkpoint='checkpoints/face_parsing_bisenet_r18_celebamask-hq.pth',
    device='auto')

inference = dict(batch_size=16, workers=8)
