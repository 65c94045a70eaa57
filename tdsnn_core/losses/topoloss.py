"""TopoNets' TopoLoss: smoothness of a layer's weights laid on a 2-D grid of its output units."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tdsnn_core.sheets.retinotopic import channel_grid_shape


def topoloss(weight: torch.Tensor, factor: float = 3.0) -> torch.Tensor:
    """1 - mean cosine(W_grid, blurred W_grid) for a weight [C_out, ...].

    Output unit c sits at row c // w, column c % w of an h x w grid (h * w = C_out, h the
    largest divisor <= sqrt(C_out)); the blur is bilinear down-sampling by ``factor`` then
    up-sampling back. The cosine compares each unit's weight vector with its blurred version.
    """
    c_out = weight.shape[0]
    h, w = channel_grid_shape(c_out)
    if factor < 1 or factor > min(h, w):
        raise ValueError(f"TopoLoss factor must be in [1, {min(h, w)}] for a {h}x{w} grid")
    grid = weight.reshape(h, w, -1).permute(2, 0, 1).unsqueeze(0)  # [1, E, h, w]
    small = F.interpolate(grid, scale_factor=1.0 / factor, mode="bilinear")
    blurred = F.interpolate(small, size=(h, w), mode="bilinear")
    cosine = F.cosine_similarity(grid.flatten(2), blurred.flatten(2), dim=1)  # [1, h*w]
    return 1.0 - cosine.mean()
