"""The Q-network shared by every satellite: local observation -> expected remaining delay per routing action."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class QNetwork(nn.Module):
    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128, dueling: bool = False):
        super().__init__()
        self.dueling = dueling
        self.body = nn.Sequential(nn.Linear(obs_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, n_actions)
        self.value = nn.Linear(hidden, 1) if dueling else None
        self._numpy_layers: list[tuple[np.ndarray, np.ndarray]] | None = None
        self.register_load_state_dict_post_hook(QNetwork._forget_numpy_layers)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        # The layers' own functions instead of the submodules' calls: the same ops, so bit for bit the values of
        # ``self.head(self.body(obs))``, without five module dispatches per call (the update runs three
        # forward passes per slot; acting uses ``numpy_forward``).
        first, second = self.body[0], self.body[2]
        h = F.relu(F.linear(obs, first.weight, first.bias))
        h = F.relu(F.linear(h, second.weight, second.bias))
        adv = F.linear(h, self.head.weight, self.head.bias)
        if self.value is None:
            return adv
        return F.linear(h, self.value.weight, self.value.bias) + adv - adv.mean(dim=-1, keepdim=True)

    def numpy_layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(weight, bias) of each layer (first, second, head, then value if dueling) as numpy arrays that share
        memory with the parameters, so they follow every optimizer step and in-place ``load_state_dict``.

        Built once and kept (building them cost as much as a forward pass). ``load_state_dict`` and
        ``_apply`` (``.to``, ``.double``, ...), which may put new tensors in place of the parameters, drop the
        kept ones. Assigning a new ``nn.Parameter`` to a layer by hand does not: don't.
        """
        if self._numpy_layers is None:
            layers = [self.body[0], self.body[2], self.head] + ([self.value] if self.value is not None else [])
            self._numpy_layers = [(layer.weight.detach().numpy(), layer.bias.detach().numpy()) for layer in layers]
        return self._numpy_layers

    def _forget_numpy_layers(self, *_) -> None:
        self._numpy_layers = None

    def __getstate__(self) -> dict:  # a copy or a pickle gets new parameters: the kept views would be stale
        return {**self.__dict__, "_numpy_layers": None}

    def _apply(self, fn, *args, **kwargs):  # noqa: ANN001, ANN202  (nn.Module's signature)
        self._numpy_layers = None
        return super()._apply(fn, *args, **kwargs)


# OpenBLAS (numpy's BLAS) runs a product on all its threads once m * n * k passes 4 * 65536: on a busy 2-core
# machine each such call then waits for a second core (a 66-row forward took 4.5 ms instead of 0.2 ms).
# numpy_forward feeds the BLAS row blocks below that size, so it always stays on the calling thread.
BLAS_SERIAL_MNK = 4 * 65536


def numpy_forward(layers: list[tuple[np.ndarray, np.ndarray]], obs: np.ndarray) -> np.ndarray:
    """``QNetwork.forward`` in float32 numpy on ``QNetwork.numpy_layers()``: the same function for acting.

    Acting asks the net about a few rows at a time, up to ~25 times per slot (routing, then every round of
    the ratio bisection), where torch's per-op dispatch costs several times the arithmetic; numpy's is far
    lighter. The values equal torch's up to float32 rounding (another BLAS sums in another order); the
    training targets and gradients stay in torch.
    """
    block = max(1, BLAS_SERIAL_MNK // max(layers[0][0].size, layers[1][0].size))  # the head and value are smaller
    if len(obs) > block:
        return np.concatenate([numpy_forward(layers, obs[i : i + block]) for i in range(0, len(obs), block)])
    (w1, b1), (w2, b2), (wh, bh), *value = layers
    h = obs @ w1.T
    h += b1
    np.maximum(h, 0.0, out=h)
    h = h @ w2.T
    h += b2
    np.maximum(h, 0.0, out=h)
    adv = h @ wh.T
    adv += bh
    if not value:
        return adv
    ((wv, bv),) = value
    return (h @ wv.T + bv) + adv - adv.mean(axis=-1, keepdims=True)
