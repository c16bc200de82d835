/* Pre-tokenization: hand-written scanners that split text exactly like the named regexes of
 * src/lmio/tokenizer/_patterns.py do under tiktoken's engine (fancy-regex, leftmost-first,
 * backtracking). Every one of those patterns matches at any position (some alternative accepts
 * any character), so the pieces tile the text: a scanner only says where the piece that starts
 * at `i` ends. Bytes that are not valid UTF-8 (only reachable through the C API) are pieces of
 * punctuation, one byte each, so any input has a defined split. */
#ifndef LMIO_PRETOK_H
#define LMIO_PRETOK_H

#include <stddef.h>
#include <stdint.h>

/* Scanner ids: the native ids of NAMED_PATTERNS in _patterns.py. */
enum {
    LMIO_PATTERN_GPT2 = 0,   /* tiktoken r50k/p50k (and HF ByteLevel's GPT-2 regex) */
    LMIO_PATTERN_GPT4 = 1,   /* tiktoken cl100k */
    LMIO_PATTERN_O200K = 2,  /* tiktoken o200k */
    LMIO_PATTERN_LLAMA3 = 3, /* Llama 3 (cl100k without possessives: differs at the text's end) */
    LMIO_PATTERN_COUNT = 4,
    LMIO_PATTERN_CUSTOM = -1, /* split elsewhere (Python's regex module); no scanner */
};

typedef size_t (*lmio_scanner)(const uint8_t *s, size_t n, size_t i);

size_t lmio_scan_gpt2(const uint8_t *s, size_t n, size_t i);
size_t lmio_scan_gpt4(const uint8_t *s, size_t n, size_t i);
size_t lmio_scan_o200k(const uint8_t *s, size_t n, size_t i);
size_t lmio_scan_llama3(const uint8_t *s, size_t n, size_t i);

/* The scanner of a pattern id, NULL for custom or unknown ids. Call it with i < n; it returns
 * the end of the piece that starts at i (always > i). */
lmio_scanner lmio_scanner_for(int pattern);

/* A position p >= from where every named pattern starts a piece whatever precedes it: the
 * text can be cut there and the halves scanned separately (parallel counting and encoding of
 * one long document). Returns n when there is none. p starts a letter and follows a lone '\n'
 * (one preceded by a non-space): no pattern lets a piece run from a newline into a letter or
 * take a newline as a letter's prefix, and the lone newline is one piece (or ends one) both
 * in the whole text and at the end of the first half, where gpt2's \s++$ would otherwise take
 * a longer whitespace run whole. */
size_t lmio_pretok_safe_split(const uint8_t *s, size_t n, size_t from);

#endif
