"""GPT: the reference decoder-only Transformer, and sampling from it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional

from lmio.errors import InvalidArgumentError
from lmio.model._attention import CausalSelfAttention, KVCache
from lmio.model._config import GPTConfig

__all__ = ["GPT"]


class MLP(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.fc = nn.Linear(config.d_model, 4 * config.d_model, bias=config.bias)
        self.proj = nn.Linear(4 * config.d_model, config.d_model, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.proj(functional.gelu(self.fc(x))))  # type: ignore[no-any-return]


class Block(nn.Module):
    """Pre-LayerNorm: normalise, transform, add back to the residual stream."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.norm_attn = nn.LayerNorm(config.d_model, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.norm_mlp = nn.LayerNorm(config.d_model, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: Tensor, *, attn_mask: Tensor | None, kv_cache: KVCache | None) -> Tensor:
        x = x + self.attn(self.norm_attn(x), attn_mask=attn_mask, kv_cache=kv_cache)
        return x + self.mlp(self.norm_mlp(x))  # type: ignore[no-any-return]


class GPT(nn.Module):
    """A decoder-only Transformer: token and learned position embeddings, pre-LayerNorm blocks
    of causal self-attention and a GELU MLP, a final LayerNorm, and an output head that shares
    its weight with the token embedding.

    `model(input_ids)` gives logits [B, T, vocab_size]; `lmio.model.lm_loss(logits, labels)`
    turns them into the training loss.
    """

    def __init__(self, config: GPTConfig) -> None:
        if not isinstance(config, GPTConfig):
            raise InvalidArgumentError(
                f"GPT needs a GPTConfig, got {type(config).__name__}: "
                "use GPT(GPTConfig(...)) or GPT.from_preset('tiny')"
            )
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.d_model)
        self.pos_emb = nn.Embedding(config.block_size, config.d_model)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.norm = nn.LayerNorm(config.d_model, bias=config.bias)
        self.head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight
        self.apply(_init_weights)
        # GPT-2's scaling: each block adds two projections to the residual stream, so shrink
        # them with depth to keep its variance from growing with n_layer.
        for name, param in self.named_parameters():
            if name.endswith("proj.weight"):
                nn.init.normal_(param, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> GPT:
        """`GPT.from_preset("tiny", vocab_size=256)`: see `GPTConfig` for the presets."""
        return cls(GPTConfig.from_preset(name, **overrides))

    def num_parameters(self, *, embeddings: bool = True) -> int:
        """Trainable parameters, the tied embedding counted once; `embeddings=False` leaves
        out the token and position embeddings."""
        total = sum(p.numel() for p in self.parameters())
        if not embeddings:
            total -= self.tok_emb.weight.numel() + self.pos_emb.weight.numel()
        return total

    def forward(
        self,
        input_ids: Tensor,
        *,
        position_ids: Tensor | None = None,
        attn_mask: Tensor | None = None,
        kv_cache: Sequence[KVCache] | None = None,
    ) -> Tensor:
        """input_ids [B, T] -> logits [B, T, vocab_size].

        `position_ids` [B, T] or [T] default to 0..T-1 (after the cached positions). `attn_mask`
        is bool [B, T, S] or [B, 1, T, S], True where a query may attend to a key, combined
        with the causal mask: packed documents pass a block-diagonal mask and positions that
        restart at each document. `kv_cache` (from `new_kv_cache`) makes decoding incremental.
        """
        if input_ids.dim() != 2 or input_ids.dtype.is_floating_point:
            raise InvalidArgumentError(
                f"input_ids must be an integer tensor [batch, time], got {input_ids.dtype} "
                f"{tuple(input_ids.shape)}"
            )
        offset = kv_cache[0].length if kv_cache else 0
        length = input_ids.size(1)
        if offset + length > self.config.block_size:
            raise InvalidArgumentError(
                f"sequence of {offset + length} tokens is longer than the model's block_size "
                f"{self.config.block_size}: use shorter windows or a model with a larger "
                "block_size"
            )
        if position_ids is None:
            position_ids = torch.arange(offset, offset + length, device=input_ids.device)
        if attn_mask is not None and attn_mask.dim() == 3:
            attn_mask = attn_mask.unsqueeze(1)  # one mask for every head
        x = self.dropout(self.tok_emb(input_ids) + self.pos_emb(position_ids))
        for i, block in enumerate(self.blocks):
            x = block(x, attn_mask=attn_mask, kv_cache=kv_cache[i] if kv_cache else None)
        return self.head(self.norm(x))  # type: ignore[no-any-return]

    def new_kv_cache(self, batch_size: int) -> list[KVCache]:
        """Empty per-layer caches for `batch_size` sequences of up to block_size tokens."""
        weight = self.tok_emb.weight
        return [
            KVCache(
                batch_size=batch_size,
                n_head=self.config.n_head,
                head_dim=self.config.head_dim,
                max_len=self.config.block_size,
                device=weight.device,
                dtype=weight.dtype,
            )
            for _ in self.blocks
        ]

    def generate(
        self,
        input_ids: Tensor,
        max_new_tokens: int,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        use_cache: bool = True,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Append `max_new_tokens` sampled tokens to each row of `input_ids` [B, T].

        `temperature=0` picks the most likely token (greedy); otherwise logits are divided by
        the temperature and, with `top_k`, cut to the k most likely before sampling from
        `generator` (on the model's device) for reproducible output. With `use_cache`, keys and
        values are kept between steps until the sequence fills block_size; past it, the learned
        positions of the window shift every step, so each step recomputes the last block_size
        tokens, exactly as without the cache.
        """
        if input_ids.dim() != 2 or input_ids.size(1) == 0:
            raise InvalidArgumentError(
                f"input_ids must be [batch, time] with at least one token, "
                f"got shape {tuple(input_ids.shape)}"
            )
        if max_new_tokens < 0:
            raise InvalidArgumentError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
        if temperature < 0:
            raise InvalidArgumentError(
                f"temperature must be >= 0, got {temperature}: 0 means greedy decoding"
            )
        if top_k is not None and top_k < 1:
            raise InvalidArgumentError(f"top_k must be >= 1 or None, got {top_k}")
        block_size = self.config.block_size
        was_training = self.training
        self.eval()
        try:
            with torch.inference_mode():
                ids = input_ids
                cache: list[KVCache] | None = None
                for _ in range(max_new_tokens):
                    if not use_cache or ids.size(1) > block_size:
                        logits = self(ids[:, -block_size:])
                    elif cache is None:
                        cache = self.new_kv_cache(ids.size(0))
                        logits = self(ids, kv_cache=cache)
                    else:
                        logits = self(ids[:, -1:], kv_cache=cache)
                    next_id = _pick(logits[:, -1], temperature, top_k, generator)
                    ids = torch.cat([ids, next_id], dim=1)
        finally:
            self.train(was_training)
        return ids


def _pick(
    logits: Tensor, temperature: float, top_k: int | None, generator: torch.Generator | None
) -> Tensor:
    """logits [B, V] -> the next token [B, 1]."""
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits.float() / temperature
    if top_k is not None and top_k < logits.size(-1):
        kth_best = torch.topk(logits, top_k).values[:, -1:]
        logits = logits.masked_fill(logits < kth_best, float("-inf"))
    return torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator)


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
