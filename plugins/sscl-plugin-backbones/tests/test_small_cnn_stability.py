"""small-cnn learns under the protocols' optimizer (SGD lr 0.03, momentum 0.9, batch 8) instead of collapsing."""

import torch

from sscl_core import ClassifierModel
from sscl_plugin_backbones.small_cnn import SmallCNN


def two_class_images(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Five noisy grey 28x28 images per class: class 0 bright on the left half, class 1 on the right half."""
    labels = torch.tensor([0, 1] * 5)
    images = torch.randn(10, 1, 28, 28, generator=generator) * 0.5
    images[labels == 0, :, :, :14] += 1.0
    images[labels == 1, :, :, 14:] += 1.0
    return images, labels


def test_small_cnn_fits_ten_labels_with_protocol_optimizer():
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    images, labels = two_class_images(generator)
    model = ClassifierModel(SmallCNN().build((1, 28, 28)), num_classes=10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.03, momentum=0.9, weight_decay=5e-4)
    for _ in range(60):
        batch = torch.randint(0, 10, (8,), generator=generator)
        loss = torch.nn.functional.cross_entropy(model(images[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    test_images, test_labels = two_class_images(generator)
    with torch.no_grad():
        accuracy = (model(test_images).argmax(dim=1) == test_labels).float().mean().item()
    assert accuracy >= 0.9
