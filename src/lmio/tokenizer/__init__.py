"""Byte-level BPE tokenizer (training, encoding, HF and tiktoken formats)."""

__all__: list[str] = []
