/* The dedup digest of `lmio prepare`: XXH3-128 (seed 0, the default secret) of the cleaned text's
 * UTF-8, as specified in xxHash's doc/xxhash_spec.md, given as its canonical 16 bytes (the high
 * half first, big-endian), the bytes of Python's xxhash.xxh3_128_digest. Not cryptographic: a
 * digest only tells duplicates apart, and 128 bits make an accidental collision negligible.
 * Streaming gives the same digest however the bytes are cut. */
#ifndef LMIO_DIGEST_H
#define LMIO_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define LMIO_DIGEST_SIZE 16

/* One call: the digest of data[0 .. n). */
void lmio_digest(const void *data, size_t n, uint8_t out[LMIO_DIGEST_SIZE]);

/* Streaming: init, update with the bytes in any pieces, final (the state stays usable). */
typedef struct {
    uint64_t acc[8];
    uint64_t total;
    size_t buffered;   /* bytes in buf not yet taken in */
    unsigned stripes;  /* stripes taken into the current block */
    int long_input;    /* more than 240 bytes: stripes are being taken in */
    uint8_t buf[256];
    uint8_t last[64];  /* the last stripe taken in */
} lmio_digest_state;

void lmio_digest_init(lmio_digest_state *st);
void lmio_digest_update(lmio_digest_state *st, const void *data, size_t n);
void lmio_digest_final(const lmio_digest_state *st, uint8_t out[LMIO_DIGEST_SIZE]);

/* A set of digests, for exact dedup: which digests of a run are new (neither in the set nor
 * earlier in the run), each added as it is found new. Open addressing, load <= 1/2. */
typedef struct {
    uint8_t *keys; /* cap digests */
    uint8_t *used; /* cap flags: a digest may be any 16 bytes, zeros included */
    size_t cap, n;
} lmio_digest_set;

void lmio_digest_set_init(lmio_digest_set *set);
void lmio_digest_set_free(lmio_digest_set *set);
/* fresh[i] = 1 when digests[i * 16 ..] is new, else 0. LMIO_OK, or LMIO_ENOMEM with the set
 * as it was before the call. */
int lmio_digest_set_add(lmio_digest_set *set, const uint8_t *digests, size_t n, uint8_t *fresh);

#endif
