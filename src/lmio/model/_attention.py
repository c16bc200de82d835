"""Causal multi-head self-attention, its written-out reference, and the KV cache."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional

from lmio.model._config import GPTConfig

__all__ = ["CausalSelfAttention", "KVCache", "causal_mask", "reference_attention"]


class KVCache:
    """One layer's keys and values for the positions seen so far, preallocated to block_size.

    Preallocating keeps each decoding step free of concatenation and reallocation.
    """

    def __init__(
        self,
        *,
        batch_size: int,
        n_head: int,
        head_dim: int,
        max_len: int,
        device: torch.device,
        dtype: torch.dtype,
    ) -> None:
        shape = (batch_size, n_head, max_len, head_dim)
        self.keys = torch.empty(shape, device=device, dtype=dtype)
        self.values = torch.empty(shape, device=device, dtype=dtype)
        self.length = 0

    def append(self, keys: Tensor, values: Tensor) -> tuple[Tensor, Tensor]:
        """Store [B, H, T, D] new keys and values; return all of them so far."""
        end = self.length + keys.size(2)
        self.keys[:, :, self.length : end] = keys
        self.values[:, :, self.length : end] = values
        self.length = end
        return self.keys[:, :, :end], self.values[:, :, :end]


def causal_mask(q_len: int, k_len: int, *, offset: int, device: torch.device) -> Tensor:
    """[q_len, k_len] bool, True where query `offset + i` may attend to key `j` (j <= offset + i)."""
    return torch.ones(q_len, k_len, dtype=torch.bool, device=device).tril(diagonal=offset)


def reference_attention(
    q: Tensor, k: Tensor, v: Tensor, *, mask: Tensor, dropout_p: float = 0.0
) -> Tensor:
    """softmax(QKᵀ/√d_k)·V written out, with `mask` True where attention is allowed."""
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    if dropout_p:
        weights = functional.dropout(weights, p=dropout_p)
    return weights @ v


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.head_dim = config.head_dim
        self.dropout = config.dropout
        self.reference = config.attention == "reference"
        # One projection for Q, K and V: a single matmul instead of three.
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model, bias=config.bias)
        self.proj = nn.Linear(config.d_model, config.d_model, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(
        self, x: Tensor, *, attn_mask: Tensor | None = None, kv_cache: KVCache | None = None
    ) -> Tensor:
        """x [B, T, C] -> [B, T, C]. `attn_mask` (bool, broadcast to [B, H, T, S]) narrows the
        causal mask further, e.g. to keep packed documents apart."""
        batch, length, width = x.shape
        q, k, v = (
            t.view(batch, length, self.n_head, self.head_dim).transpose(1, 2)
            for t in self.qkv(x).split(width, dim=2)
        )
        offset = 0
        if kv_cache is not None:
            offset = kv_cache.length
            k, v = kv_cache.append(k, v)
        dropout_p = self.dropout if self.training else 0.0
        if self.reference:
            mask = _allowed(q, k, offset=offset, attn_mask=attn_mask)
            y = reference_attention(q, k, v, mask=mask, dropout_p=dropout_p)
        else:
            y = _sdpa(q, k, v, offset=offset, attn_mask=attn_mask, dropout_p=dropout_p)
        y = y.transpose(1, 2).contiguous().view(batch, length, width)
        return self.resid_dropout(self.proj(y))  # type: ignore[no-any-return]


def _sdpa(
    q: Tensor, k: Tensor, v: Tensor, *, offset: int, attn_mask: Tensor | None, dropout_p: float
) -> Tensor:
    if attn_mask is None and offset == 0:
        # Square and causal: is_causal lets the fused kernels skip the masked half.
        return functional.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
    if attn_mask is None and q.size(2) == 1:
        # One new token after the cache: every cached key is in its past, nothing to mask.
        return functional.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)
    # is_causal aligns the mask top-left, which is wrong once queries start at an offset.
    mask = _allowed(q, k, offset=offset, attn_mask=attn_mask)
    return functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)


def _allowed(q: Tensor, k: Tensor, *, offset: int, attn_mask: Tensor | None) -> Tensor:
    """The causal mask for these queries and keys, narrowed by the caller's mask if any."""
    mask = causal_mask(q.size(2), k.size(2), offset=offset, device=q.device)
    return mask if attn_mask is None else mask & attn_mask
