"""Image augmentations not in torchvision: Cutout (DeVries & Taylor, 2017)."""

from __future__ import annotations

import torch


class Cutout:
    """Zero ``holes`` squares of side ``length`` in a ``[C, H, W]`` tensor, on all channels.

    Each square is centred at a pixel drawn uniformly (torch RNG, so DataLoader workers are
    seeded by the loader) and clipped at the image borders, so near a border less than
    ``length * length`` pixels are zeroed, as in the original implementation.
    """

    def __init__(self, holes: int = 1, length: int = 16) -> None:
        if holes < 0 or length < 0:
            raise ValueError(f"Cutout needs holes >= 0 and length >= 0, got {holes}, {length}")
        self.holes, self.length = holes, length

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        height, width = img.shape[-2:]
        mask = torch.ones(height, width, dtype=img.dtype)
        for _ in range(self.holes):
            y = int(torch.randint(height, ()))
            x = int(torch.randint(width, ()))
            top, left = y - self.length // 2, x - self.length // 2
            mask[max(top, 0) : top + self.length, max(left, 0) : left + self.length] = 0
        return img * mask

    def __repr__(self) -> str:
        return f"Cutout(holes={self.holes}, length={self.length})"
