import pytest
import torch

from headswap.models.blenders import BlendingMasks


def test_masks_from_parsing():
    masks = BlendingMasks(head_labels=[1, 17], dilation=1 / 16)  # 1 pixel at 16x16
    head = torch.zeros(2, 1, 16, 16, dtype=torch.long)
    target = torch.zeros(2, 1, 16, 16, dtype=torch.long)
    head[0, 0, 6:10, 6:10] = 1  # A's head: 4x4
    target[0, 0, 4:10, 6:10] = 17  # T's head is taller (its hair reaches up to row 4)
    target[0, 0, 12:, 6:10] = 14  # neck: scene, not head
    target[1, 0, 4:10, 6:10] = 1  # sample 1: A has no head
    out = masks(head, target)
    assert out['head_mask'][0, 0].sum() == 16
    edit = out['edit_mask'][0, 0]
    assert edit[3:11, 5:11].min() == 1 and edit.sum() == 8 * 6  # union dilated by 1 pixel
    inpaint = out['inpaint_mask'][0, 0]
    assert inpaint[4:6, 6:10].min() == 1  # T's hair not covered by A's head
    assert (inpaint * out['head_mask'][0, 0]).sum() == 0
    assert torch.equal(inpaint + out['head_mask'][0, 0], edit)
    assert out['edit_mask'][1].sum() == 0 and out['inpaint_mask'][1].sum() == 0


def test_bad_arguments():
    with pytest.raises(ValueError, match='empty'):
        BlendingMasks(head_labels=[])
    with pytest.raises(ValueError, match='dilation'):
        BlendingMasks(head_labels=[1], dilation=-1)
