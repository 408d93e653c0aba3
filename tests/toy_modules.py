"""A toy GAN used by the tool tests until the real stage models exist.

Lives under tests/ on purpose: nothing here is part of headswap. It draws from
numpy's and torch's global generators (augmentation and input noise), so the
resume tests check that the random state is restored.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dataset import BaseDataset
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel

from headswap.registry import DATASETS, METRICS, MODELS
from headswap.structures import HeadSwapDataSample


@DATASETS.register_module()
class ToyImageDataset(BaseDataset):
    """``num`` random 16x16 images; a random flip per draw (numpy's global RNG)."""

    def __init__(self, num: int = 16, size: int = 16, **kwargs):
        self.num, self.size = num, size
        super().__init__(ann_file='', serialize_data=False, **kwargs)

    def load_data_list(self):
        return [dict(idx=i) for i in range(self.num)]

    def prepare_data(self, idx):
        rng = np.random.default_rng(idx)
        img = rng.integers(0, 256, (3, self.size, self.size), dtype=np.uint8)
        if np.random.rand() < 0.5:
            img = img[:, :, ::-1].copy()
        sample = HeadSwapDataSample(metainfo=dict(idx=idx))
        sample.gt_img = torch.from_numpy(img)
        return dict(inputs=torch.from_numpy(img), data_samples=sample)


@MODELS.register_module()
class ToyGAN(BaseModel):
    """Denoising GAN: G(noisy x) ~ x, hinge D. Alternating D/G steps."""

    def __init__(self, width: int = 8, data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.generator = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, 3, 3, padding=1))
        self.discriminator = nn.Sequential(
            nn.Conv2d(3, width, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(width, 1, 4, 2, 1))

    def _inputs(self, data):
        data = self.data_preprocessor(data, True)
        x = torch.stack(data['inputs']).float() / 127.5 - 1
        noisy = x + 0.1 * torch.randn_like(x)  # torch's global RNG
        return x, noisy, data['data_samples']

    def train_step(self, data, optim_wrapper):
        x, noisy, _ = self._inputs(data)
        with optim_wrapper['discriminator'].optim_context(self.discriminator):
            fake = self.generator(noisy).detach()
            loss_d = F.relu(1 - self.discriminator(x)).mean() + \
                F.relu(1 + self.discriminator(fake)).mean()
        optim_wrapper['discriminator'].update_params(loss_d)
        with optim_wrapper['generator'].optim_context(self.generator):
            fake = self.generator(noisy)
            loss_l1 = F.l1_loss(fake, x)
            loss_adv = -self.discriminator(fake).mean() * 0.01
        optim_wrapper['generator'].update_params(loss_l1 + loss_adv)
        return dict(loss_d=loss_d.detach(), loss_l1=loss_l1.detach(), loss_g_adv=loss_adv.detach())

    def _predict(self, data):
        x, noisy, samples = self._inputs(data)
        out = ((self.generator(noisy).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        for s, o in zip(samples, out):
            s.pred_img = o
        return samples

    def val_step(self, data):
        return self._predict(data)

    def test_step(self, data):
        return self._predict(data)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.generator(inputs)


@METRICS.register_module()
class ToyL1Metric(BaseMetric):
    """Mean absolute error in [0, 255] between pred_img and gt_img."""

    default_prefix = 'toy'

    def process(self, data_batch, data_samples):
        for s in data_samples:
            self.results.append((s['pred_img'].float() - s['gt_img'].float()).abs().mean().item())

    def compute_metrics(self, results):
        return dict(l1=float(np.mean(results)))
