"""Text: the embedded corpus, cleaning and normalisation."""

from lmio.text._embedded import embedded_corpus

__all__ = ["embedded_corpus"]
