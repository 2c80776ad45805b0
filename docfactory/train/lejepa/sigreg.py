"""SIGReg (Balestriero & LeCun, 2025): the sliced Epps–Pulley test of a batch of embeddings against
an isotropic standard Gaussian, used as a differentiable regularizer.

For each of M random unit directions a (redrawn every step from the step's seed, so every device of
a data-parallel run draws the same slices), the batch is projected, x_n = <z_n, a>, and its
empirical characteristic function ecf(t) = mean_n e^(i t x_n) is compared with the Gaussian's
φ(t) = e^(−t²/2):

    EP(a) = N · ∫ |ecf(t) − φ(t)|² φ(t) dt

integrated on t ∈ [0, 3] with 17 knots and trapezoid weights × e^(−t²/2). The integrand is even in
t, so, as the authors' `lejepa` package does, the trapezoid weights are doubled to stand for the
mirrored half [−3, 0] (the whole symmetric integral). SIGReg is the mean of EP over the M slices.

Under the null (z ~ N(0, I)) N · E|ecf − φ|² = 1 − φ², so EP stays ≈ 1 whatever N is; a collapsed
or low-rank batch makes |ecf − φ|² a constant and EP grows linearly with N.
"""

from __future__ import annotations

import torch

T_MAX = 3.0
N_KNOTS = 17


def knots(device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(t, φ(t), weights): 17 knots on [0, 3]; trapezoid weights (doubled: the mirrored half) × φ(t)."""
    t = torch.linspace(0.0, T_MAX, N_KNOTS, device=device, dtype=dtype)
    dt = T_MAX / (N_KNOTS - 1)
    trapezoid = torch.full((N_KNOTS,), 2 * dt, device=device, dtype=dtype)
    trapezoid[[0, -1]] = dt
    phi = torch.exp(-0.5 * t**2)
    return t, phi, trapezoid * phi


def directions(dim: int, n_slices: int, seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """(dim, n_slices) unit columns drawn from `seed` alone (the step's seed), not from any global RNG."""
    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    a = torch.randn(dim, n_slices, generator=generator)
    return (a / a.norm(dim=0, keepdim=True)).to(device)


def epps_pulley(x: torch.Tensor) -> torch.Tensor:
    """Per-column Epps–Pulley statistic of x (N, M) against N(0, 1), scaled by N: shape (M,)."""
    t, phi, weights = knots(x.device, torch.float32)
    xt = x.float().unsqueeze(-1) * t  # (N, M, T)
    err = (torch.cos(xt).mean(0) - phi) ** 2 + torch.sin(xt).mean(0) ** 2  # |ecf − φ|², (M, T)
    return (err @ weights) * x.shape[0]


def sigreg(z: torch.Tensor, seed: int, n_slices: int = 256) -> torch.Tensor:
    """SIGReg of a batch z (N, K): the Epps–Pulley statistic averaged over `n_slices` directions."""
    if z.dim() != 2:
        raise ValueError(f"sigreg expects (batch, dim) embeddings, got shape {tuple(z.shape)}")
    return epps_pulley(z @ directions(z.shape[1], n_slices, seed, z.device).to(z.dtype)).mean()
