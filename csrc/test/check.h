/* Shared by the C-level unit checks and the fuzz driver (built by `make asan` / `make fuzz`,
 * never into the Python extension): a CHECK macro, a deterministic PRNG, and a slow, obviously
 * correct reference BPE (tiktoken's algorithm on bytes, with a sorted-array vocabulary). */
#ifndef LMIO_TEST_CHECK_H
#define LMIO_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmio_core.h"
#include "unicode.h"
#include "utf8.h"

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                  \
        }                                                                             \
    } while (0)

/* xorshift64*: reproducible across platforms */
typedef struct {
    uint64_t s;
} rng_t;

static inline uint64_t rng_next(rng_t *r) {
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Dull;
}

static inline size_t rng_below(rng_t *r, size_t n) { return n ? (size_t)(rng_next(r) % n) : 0; }

/* ---- reference BPE ---- */

typedef struct {
    const uint8_t *const *tok;
    const size_t *len;
    size_t n;
    size_t *sorted; /* token ids sorted by bytes */
} ref_vocab;

static const ref_vocab *ref_sort_ctx;

static int ref_cmp_bytes(const uint8_t *a, size_t la, const uint8_t *b, size_t lb) {
    size_t m = la < lb ? la : lb;
    int c = m ? memcmp(a, b, m) : 0;
    if (c) return c;
    return la < lb ? -1 : la > lb;
}

static int ref_cmp_ids(const void *x, const void *y) {
    size_t a = *(const size_t *)x, b = *(const size_t *)y;
    return ref_cmp_bytes(ref_sort_ctx->tok[a], ref_sort_ctx->len[a], ref_sort_ctx->tok[b],
                         ref_sort_ctx->len[b]);
}

static inline void ref_init(ref_vocab *v, const uint8_t *const *tok, const size_t *len, size_t n) {
    v->tok = tok;
    v->len = len;
    v->n = n;
    v->sorted = malloc((n ? n : 1) * sizeof(size_t));
    CHECK(v->sorted);
    for (size_t i = 0; i < n; i++) v->sorted[i] = i;
    ref_sort_ctx = v;
    qsort(v->sorted, n, sizeof(size_t), ref_cmp_ids);
}

static inline void ref_free(ref_vocab *v) { free(v->sorted); }

/* rank of bytes p[0..n) or SIZE_MAX */
static inline size_t ref_rank(const ref_vocab *v, const uint8_t *p, size_t n) {
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2, id = v->sorted[mid];
        int c = ref_cmp_bytes(v->tok[id], v->len[id], p, n);
        if (c == 0) return id;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

/* tiktoken's byte_pair_encode, literally: whole piece first, then the leftmost lowest rank. */
static inline void ref_encode_piece(const ref_vocab *v, const uint8_t *p, size_t n,
                                    lmio_u32vec *out) {
    if (!n) return;
    size_t whole = ref_rank(v, p, n);
    if (whole != SIZE_MAX) {
        CHECK(lmio_u32vec_push(out, (uint32_t)whole) == 0);
        return;
    }
    size_t *start = malloc((n + 1) * sizeof(size_t));
    CHECK(start);
    for (size_t i = 0; i <= n; i++) start[i] = i;
    size_t m = n;
    while (m > 1) {
        size_t best = SIZE_MAX, at = 0;
        for (size_t i = 0; i + 1 < m; i++) {
            size_t r = ref_rank(v, p + start[i], start[i + 2] - start[i]);
            if (r < best) {
                best = r;
                at = i;
            }
        }
        if (best == SIZE_MAX) break;
        memmove(start + at + 1, start + at + 2, (m - at - 1) * sizeof(size_t));
        m--;
    }
    for (size_t i = 0; i < m; i++) {
        size_t r = ref_rank(v, p + start[i], start[i + 1] - start[i]);
        CHECK(r != SIZE_MAX);
        CHECK(lmio_u32vec_push(out, (uint32_t)r) == 0);
    }
    free(start);
}

#endif
