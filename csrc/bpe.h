/* The BPE encoder with tiktoken's semantics: rank == token id == merge priority.
 *
 * For each piece of pre-tokenized text: if the whole piece is a token, that token (tiktoken's
 * "vocabulary as a cache"); otherwise start from single bytes and repeatedly merge the adjacent
 * pair whose concatenation has the lowest rank, the leftmost on ties. Instead of hashing the
 * concatenated bytes as tiktoken does, a pair table maps (left id, right id) to the id of
 * left+right for every split of every token into two tokens; the parts of a piece are always
 * tokens, so the lookup gives the same rank. */
#ifndef LMIO_BPE_H
#define LMIO_BPE_H

#include "common.h"
#include "hash.h"
#include "pretok.h"
#include "specials.h"

typedef struct lmio_encoder lmio_encoder;

/* Builds an encoder. tokens[i][0..lens[i]) are the bytes of token id i (i < n); all 256 single
 * bytes must be among them and no two tokens equal. Special tokens are byte strings (non-empty)
 * with ids outside 0..n-1, listed in priority order (at equal starts the first listed wins).
 * pattern is an LMIO_PATTERN_* id or LMIO_PATTERN_CUSTOM. On LMIO_EINVAL, err says why. */
int lmio_encoder_new(const uint8_t *const *tokens, const size_t *lens, size_t n,
                     const uint8_t *const *special, const size_t *special_lens,
                     const uint32_t *special_ids, size_t n_special, int pattern,
                     lmio_encoder **out, char *err, size_t errlen);
void lmio_encoder_free(lmio_encoder *e);

size_t lmio_encoder_n_vocab(const lmio_encoder *e);
int lmio_encoder_pattern(const lmio_encoder *e);
size_t lmio_encoder_n_special(const lmio_encoder *e);

/* Appends the tokens of one piece (whole-piece lookup, then byte-pair merges). */
int lmio_encode_piece(const lmio_encoder *e, const uint8_t *p, size_t n, lmio_u32vec *out);

/* Appends the tokens of text split by the encoder's scanner (pattern must not be custom). */
int lmio_encode_ordinary(const lmio_encoder *e, const uint8_t *s, size_t n, lmio_u32vec *out);

/* Like lmio_encode_ordinary, but the special tokens k with allowed[k] != 0 are recognised in
 * the text (leftmost occurrence first) and emitted as their ids. allowed may be NULL (none). */
int lmio_encode(const lmio_encoder *e, const uint8_t *s, size_t n, const uint8_t *allowed,
                lmio_u32vec *out);

/* lmio_encode with a prepared search (batch encoding prepares it once for all documents). */
int lmio_encode_with(const lmio_encoder *e, const lmio_special_search *q, const uint8_t *s,
                     size_t n, lmio_u32vec *out);
const lmio_specials *lmio_encoder_specials(const lmio_encoder *e);

/* Appends the bytes of the tokens ids[0..n). An id that is neither a token nor a special token
 * stops it with LMIO_EINVAL and *bad = that id. */
int lmio_decode(const lmio_encoder *e, const uint32_t *ids, size_t n, lmio_bytevec *out,
                uint32_t *bad);

/* Bytes of one token or special token id; NULL if unknown. */
const uint8_t *lmio_token_bytes(const lmio_encoder *e, uint32_t id, size_t *len);

#endif
