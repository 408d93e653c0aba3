"""The shared media readers: one frame loop for every video reader, one photo reader."""
import av
import numpy as np
from PIL import Image

from headswap.datasets.preparation.sources import ClipSource, iter_frames
from headswap.provenance import iter_video_frames, load_rgb
from headswap.utils.media_io import VideoReader, decode_video, read_image
from tests.test_apis.media_fixtures import talking_clip, write_clip


def test_decode_video_stride_limit_and_count(tmp_path):
    path = write_clip(str(tmp_path / 'c.mp4'), talking_clip(9), audio=False)

    def run(stride, limit):
        out = []

        def consume():
            with av.open(path) as container:
                decoded = yield from decode_video(container, stride, limit)
            out.append(decoded)

        indices = [i for i, _ in consume()]
        return indices, out[0]

    assert run(1, 0) == (list(range(9)), 9)
    assert run(4, 0) == ([0, 4, 8], 9)
    assert run(2, 2) == ([0, 2], 3)
    # the three readers share it: same frames, same indices
    reader = [i for i, _ in VideoReader(path, stride=4)]
    prepared = [i for i, _ in iter_frames(ClipSource('a', 'b', 'c', 'video', [path]), 4)]
    assert reader == prepared == [0, 4, 8]
    assert len(list(iter_video_frames(path, stride=4))) == 3


def test_one_photo_reader_for_inference_and_provenance(tmp_path):
    rgb = np.zeros((40, 48, 3), np.uint8)
    rgb[:] = (200, 30, 90)
    Image.fromarray(rgb).convert('CMYK').save(tmp_path / 'c.tif')
    assert np.array_equal(read_image(str(tmp_path / 'c.tif')), rgb)
    assert np.array_equal(load_rgb(str(tmp_path / 'c.tif')), rgb)
