"""Text: the embedded corpus, cleaning and normalisation."""

from lmio.text._clean import Cleaner, CleanOptions, CleanStats, clean
from lmio.text._embedded import embedded_corpus

__all__ = ["CleanOptions", "CleanStats", "Cleaner", "clean", "embedded_corpus"]
