"""The atom language model (PyTorch): a masked-atom transformer encoder.

Design (the "equivalent masked design" of the issue): every atom of a window is one position.
Its input vector is the sum of one learned embedding per feature; a feature that is unknown
takes that feature's own learned mask embedding (row ``cardinality`` of the feature's table)
instead of its value, so a masked value never enters the network. A learned position
embedding gives the atom's rank in the window's order (velocity order: loudness rank). A
bidirectional transformer encoder (pre-norm) reads all atoms, known and masked; one linear head
per feature predicts that feature's value at every position. The loss is taken on masked
features only, each feature's mean cross-entropy weighted by a learned uncertainty term:
``sum_f exp(-s_f) CE_f + s_f``.

Compared with an encoder-decoder, one encoder serves every task (locate, inpaint, continue,
extend-band, random feature masks) by changing only the mask, and masked atoms attend to each
other, which the iterative decoder in :mod:`.infer` uses.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class ModelConfig:
    """Sizes of the model.

    Attributes
    ----------
    cards : tuple of int
        Cardinality of each feature.
    max_atoms : int
        Longest sequence (atoms per window).
    d_model, n_layers, n_heads, d_ff : int
        Transformer width, depth, attention heads and feed-forward width.
    dropout : float
    position : bool
        Add a learned position (rank) embedding.
    tie_heads : bool
        Output head of a feature = a linear map followed by the dot product with that
        feature's input embeddings (weight tying), plus a bias per value; helps the model
        copy exact values (bins, frames) from context atoms.
    copy_heads : tuple of int
        Features (indices) with pointer-generator heads: the feature's distribution is a
        learned mix of the head's softmax and a copy distribution, an attention over the
        *other* atoms whose value of that feature is known (masked values are excluded, so
        nothing leaks).
    """

    cards: tuple[int, ...]
    max_atoms: int = 128
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 384
    dropout: float = 0.1
    position: bool = True
    tie_heads: bool = False
    copy_heads: tuple[int, ...] = ()

    def to_dict(self) -> dict:
        d = asdict(self)
        d["cards"] = list(self.cards)
        d["copy_heads"] = list(self.copy_heads)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        d = dict(d)
        d["cards"] = tuple(int(c) for c in d["cards"])
        ch = d.get("copy_heads", ())
        if isinstance(ch, bool):  # early checkpoints: one switch for all features
            ch = tuple(range(len(d["cards"]))) if ch else ()
        d["copy_heads"] = tuple(int(i) for i in ch)
        return cls(**d)


PRESETS = {
    "small": dict(d_model=96, n_layers=3, n_heads=4, d_ff=256, dropout=0.1),
    "large": dict(d_model=384, n_layers=8, n_heads=8, d_ff=1536, dropout=0.1),
    "tiny": dict(d_model=32, n_layers=1, n_heads=2, d_ff=64, dropout=0.0),
}
"""Named sizes: ``small`` (default, CPU), ``large`` (GPU), ``tiny`` (tests)."""


class AtomLM(nn.Module):
    """Masked-atom transformer over discrete atom features.

    Forward inputs: ``values`` (B, L, F) int64, ``mask`` (B, L, F) bool (True: unknown),
    ``pad`` (B, L) bool (True: padding). Output: list of F logit tensors, (B, L, card_f).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.embed = nn.ModuleList(nn.Embedding(c + 1, d) for c in config.cards)
        self.pos = nn.Embedding(config.max_atoms, d) if config.position else None
        layer = nn.TransformerEncoderLayer(d, config.n_heads, config.d_ff, config.dropout,
                                           batch_first=True, norm_first=True,
                                           activation="gelu")
        self.encoder = nn.TransformerEncoder(layer, config.n_layers,
                                             enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        if config.tie_heads:
            self.heads = nn.ModuleList(nn.Linear(d, d) for _ in config.cards)
            self.head_bias = nn.ParameterList(nn.Parameter(torch.zeros(c)) for c in config.cards)
        else:
            self.heads = nn.ModuleList(nn.Linear(d, c) for c in config.cards)
        if config.copy_heads:
            keys = [str(i) for i in config.copy_heads]
            self.copy_q = nn.ModuleDict({k: nn.Linear(d, d) for k in keys})
            self.copy_k = nn.ModuleDict({k: nn.Linear(d, d) for k in keys})
            self.copy_gate = nn.ModuleDict({k: nn.Linear(d, 1) for k in keys})
        self.log_var = nn.Parameter(torch.zeros(len(config.cards)))
        gen = torch.Generator().manual_seed(1234)
        with torch.no_grad():
            for e, c in zip(self.embed, config.cards, strict=True):
                nn.init.normal_(e.weight, std=0.02, generator=gen)
                if c > 2:  # ordinal feature: start from a rotated sinusoidal code
                    e.weight[:c] += 0.5 * _sinusoid(c, d, gen)
            if self.pos is not None:
                self.pos.weight.copy_(0.5 * _sinusoid(config.max_atoms, d, gen))
        self.register_buffer("cards_t", torch.tensor(config.cards, dtype=torch.long),
                             persistent=False)

    def embed_atoms(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Input vectors (B, L, D): sum over features of value or mask embeddings."""
        idx = torch.where(mask, self.cards_t, values.clamp_min(0))
        idx = torch.minimum(idx, self.cards_t)
        x = sum(e(idx[..., f]) for f, e in enumerate(self.embed))
        if self.pos is not None:
            x = x + self.pos(torch.arange(values.shape[1], device=values.device))[None]
        return x

    def forward(self, values: torch.Tensor, mask: torch.Tensor, pad: torch.Tensor
                ) -> list[torch.Tensor]:
        x = self.embed_atoms(values, mask)
        h = self.encoder(x, src_key_padding_mask=pad)
        h = self.norm(h)
        if self.config.tie_heads:
            out = [head(h) @ e.weight[:c].T + b for head, e, b, c in
                   zip(self.heads, self.embed, self.head_bias, self.config.cards, strict=True)]
        else:
            out = [head(h) for head in self.heads]
        for f in self.config.copy_heads:
            out[f] = self._mix_copy(f, out[f], h, values, mask, pad)
        return out

    def _mix_copy(self, f: int, logits: torch.Tensor, h: torch.Tensor, values: torch.Tensor,
                  mask: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """log(g softmax(logits) + (1 - g) copy), the copy attending to known values only."""
        c = self.config.cards[f]
        length = h.shape[1]
        q, k = self.copy_q[str(f)](h), self.copy_k[str(f)](h)
        scores = q @ k.transpose(1, 2) / math.sqrt(h.shape[-1])  # (B, L, L)
        usable = ~(mask[..., f] | pad)  # (B, L): atoms whose value of f is known
        allowed = usable[:, None, :] & ~torch.eye(length, dtype=torch.bool,
                                                  device=h.device)[None]
        scores = scores.masked_fill(~allowed, -1e9)
        attn = torch.softmax(scores, dim=-1) * allowed.any(-1, keepdim=True)
        known_v = torch.where(usable, values[..., f], torch.zeros_like(values[..., f]))
        onehot = F.one_hot(known_v.clamp(0, c - 1), c).to(h.dtype) * usable[..., None]
        p_copy = attn @ onehot  # (B, L, c)
        g = torch.sigmoid(self.copy_gate[str(f)](h))
        g = torch.where(allowed.any(-1, keepdim=True), g, torch.ones_like(g))
        p = g * torch.softmax(logits, dim=-1) + (1 - g) * p_copy
        return torch.log(p.clamp_min(1e-9))

    def loss(self, logits: list[torch.Tensor], values: torch.Tensor, mask: torch.Tensor,
             pad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Uncertainty-weighted loss and the per-feature mean cross-entropy (F,) in nats."""
        target = mask & ~pad[..., None]
        ces = []
        for f, lg in enumerate(logits):
            sel = target[..., f]
            if sel.any():
                ces.append(F.cross_entropy(lg[sel], values[..., f][sel]))
            else:
                ces.append(lg.sum() * 0.0)
        ce = torch.stack(ces)
        present = torch.stack([target[..., f].any() for f in range(len(logits))]).float()
        total = (present * (torch.exp(-self.log_var) * ce + self.log_var)).sum()
        return total, ce.detach()


def _sinusoid(n: int, d: int, gen: torch.Generator) -> torch.Tensor:
    """Sinusoidal codes of 0..n-1 (n, d), rotated by a random orthogonal matrix so that the
    codes of different features added together stay distinguishable."""
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    freq = torch.exp(-math.log(max(n, 2) * 2.0) * torch.arange(0, d, 2).float() / d)
    pe = torch.zeros(n, d)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)[:, : d // 2]
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=gen))
    return pe @ q


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
