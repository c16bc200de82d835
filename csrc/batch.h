/* Batch encoding on native threads: documents (and pieces of very long ones) are handed out
 * longest first from an atomic counter, each thread appends to its own buffer, and the result is
 * gathered into one flat uint32 token array with int64 offsets. */
#ifndef LMIO_BATCH_H
#define LMIO_BATCH_H

#include "bpe.h"

typedef struct lmio_batch lmio_batch;

/* Encodes texts[0..n) (allowed: per special token, NULL = none) on nthreads threads (<= 1:
 * inline). On success *out holds the result until lmio_batch_free. */
int lmio_encode_batch(const lmio_encoder *e, const uint8_t *const *texts, const size_t *lens,
                      size_t n, const uint8_t *allowed, int nthreads, lmio_batch **out);

/* Number of tokens in all documents. */
size_t lmio_batch_total(const lmio_batch *b);

/* Writes the tokens (lmio_batch_total of them) and n + 1 offsets (offsets[i] .. offsets[i+1] are
 * document i's tokens). */
void lmio_batch_copy(const lmio_batch *b, uint32_t *tokens, int64_t *offsets);

/* lmio_batch_copy that also appends `token` after each document d with append[d] != 0 (append
 * may be NULL: none) and stores the ids in `itemsize` bytes (2 or 4, native order): tokens must
 * hold lmio_batch_total + the appended count, offsets count the appended ids. Returns
 * LMIO_EINVAL, with *bad the id, when an id does not fit in itemsize bytes. */
int lmio_batch_copy_as(const lmio_batch *b, const uint8_t *append, uint32_t token, int itemsize,
                       void *tokens, int64_t *offsets, uint32_t *bad);

void lmio_batch_free(lmio_batch *b);

#endif
