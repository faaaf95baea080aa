"""SRResNet and the discriminators: shapes and structure."""

from __future__ import annotations

import pytest
import torch

from srdesk.models.discriminators import PatchDiscriminator, SRGANDiscriminator
from srdesk.models.srresnet import SRResNet


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
@pytest.mark.parametrize("batch_norm", [True, False])
def test_generator_output_shape(scale: int, batch_norm: bool) -> None:
    net = SRResNet(scale=scale, num_blocks=2, channels=8, batch_norm=batch_norm).eval()
    with torch.no_grad():
        out = net(torch.rand(2, 3, 7, 9))
    assert out.shape == (2, 3, 7 * scale, 9 * scale)


def test_paper_configuration() -> None:
    """16 blocks x 64 channels with BN: the paper's SRResNet (about 1.5 M parameters)."""
    net = SRResNet(scale=4, num_blocks=16, channels=64, batch_norm=True)
    assert len(net.body) == 16
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()) == 33
    assert sum(isinstance(m, torch.nn.PixelShuffle) for m in net.modules()) == 2
    assert net.head[0].kernel_size == (9, 9) and net.tail.kernel_size == (9, 9)
    assert 1.5e6 < sum(p.numel() for p in net.parameters()) < 1.6e6


def test_no_bn_variant_has_no_batch_norm() -> None:
    net = SRResNet(num_blocks=3, channels=8, batch_norm=False)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())


def test_image_skip_starts_near_bilinear() -> None:
    torch.manual_seed(0)
    net = SRResNet(scale=4, num_blocks=2, channels=16, batch_norm=False, image_skip=True).eval()
    x = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        residual = net(x) - torch.nn.functional.interpolate(x, scale_factor=4, mode="bilinear")
    assert residual.abs().mean() < 0.1


def test_discriminator_shapes() -> None:
    d = SRGANDiscriminator(base_channels=8)
    assert d(torch.rand(3, 3, 96, 96)).shape == (3, 1)
    assert len(d.forward_features(torch.rand(1, 3, 96, 96))) == 8
    p = PatchDiscriminator(base_channels=8)
    scores = p(torch.rand(2, 3, 64, 64), torch.rand(2, 3, 16, 16))
    assert scores.shape[0] == 2 and scores.shape[1] == 1 and scores.shape[2] > 1  # one score per patch
    with pytest.raises(ValueError, match="conditional"):
        p(torch.rand(2, 3, 64, 64))


def test_wgan_critic_has_no_sigmoid() -> None:
    d = SRGANDiscriminator(base_channels=8)
    assert not any(isinstance(m, torch.nn.Sigmoid) for m in d.modules())


def test_batch_norm_is_folded_into_the_convolutions_for_inference() -> None:
    from srdesk.models.base import TorchUpscaler, fuse_batch_norm

    torch.manual_seed(0)
    net = SRResNet(2, 2, 8, batch_norm=True).eval()
    for bn in (m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)):  # trained-looking statistics
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-0.1, 0.1)
    x = torch.rand(1, 3, 12, 10)
    with torch.inference_mode():
        expected = net(x)
        fused = fuse_batch_norm(net)
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
        torch.testing.assert_close(fused(x), expected, rtol=1e-5, atol=1e-5)
    upscaler = TorchUpscaler("bn", net, 2, torch.device("cpu"))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in upscaler.module.modules())
    torch.testing.assert_close(upscaler.run(x), expected, rtol=1e-5, atol=1e-5)
    plain = SRResNet(2, 1, 8, batch_norm=False).eval()
    assert fuse_batch_norm(plain) is plain  # nothing to fold: untouched
