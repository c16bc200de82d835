/* Hashing and open-addressing tables: byte strings -> id (vocabulary, words) and
 * uint64 -> uint32 (token pairs). Linear probing, power-of-two sizes, load <= 1/2. */
#ifndef LMIO_HASH_H
#define LMIO_HASH_H

#include "common.h"

static inline uint64_t lmio_load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t lmio_load32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* 64x64 -> 128-bit multiply folded to 64 bits: the mixing step of wyhash. */
static inline uint64_t lmio_mum(uint64_t a, uint64_t b) {
#ifdef __SIZEOF_INT128__
    unsigned __int128 r = (unsigned __int128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
    uint64_t lo = a * b, hi = (a >> 32) * (b >> 32) + (((a >> 32) * (uint32_t)b) >> 32) +
                              (((uint32_t)a * (b >> 32)) >> 32);
    return lo ^ hi;
#endif
}

/* A fast hash of short byte strings (most tokens and words are under 16 bytes: two loads and
 * one multiply); longer strings take one multiply per 16 bytes. Not for untrusted-adversary
 * use: the tables it feeds are private to one process. */
static inline uint64_t lmio_hash_bytes(const uint8_t *p, size_t n) {
    const uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull;
    uint64_t a, b;
    if (LMIO_LIKELY(n <= 16)) {
        if (n >= 8) {
            a = lmio_load64(p);
            b = lmio_load64(p + n - 8);
        } else if (n >= 4) {
            a = lmio_load32(p);
            b = lmio_load32(p + n - 4);
        } else if (n > 0) {
            a = ((uint64_t)p[0] << 16) | ((uint64_t)p[n >> 1] << 8) | p[n - 1];
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        uint64_t h = k0;
        size_t i = 0;
        while (n - i > 16) {
            h = lmio_mum(lmio_load64(p + i) ^ k1, lmio_load64(p + i + 8) ^ h);
            i += 16;
        }
        a = lmio_load64(p + n - 16) ^ h;
        b = lmio_load64(p + n - 8);
    }
    return lmio_mum(a ^ k1, b ^ k0 ^ (uint64_t)n);
}

/* Byte strings (kept in an lmio_arena, id = index) -> id. A slot packs the high half of the
 * hash (a tag that skips most byte comparisons) with id + 1 (0 = empty). */
typedef struct {
    uint64_t *slots;
    size_t mask, count;
} lmio_strmap;

int lmio_strmap_init(lmio_strmap *m, size_t expected);
void lmio_strmap_free(lmio_strmap *m);
/* Adds string `id` of the arena (not already present) with hash h; grows the table. */
int lmio_strmap_put(lmio_strmap *m, const lmio_arena *a, uint32_t id, uint64_t h);

/* The id of s[0..n) (hash h), or -1. */
static inline int64_t lmio_strmap_get(const lmio_strmap *m, const lmio_arena *a, const uint8_t *s,
                                      size_t n, uint64_t h) {
    uint64_t tag = h >> 32;
    for (size_t i = (size_t)h & m->mask;; i = (i + 1) & m->mask) {
        uint64_t slot = m->slots[i];
        if (!slot) return -1;
        if ((slot >> 32) == tag) {
            uint32_t id = (uint32_t)slot - 1;
            size_t len;
            const uint8_t *t = lmio_arena_str(a, id, &len);
            if (len == n && memcmp(t, s, n) == 0) return id;
        }
    }
}

/* uint64 keys (token pairs: left << 32 | right) -> uint32 values. UINT64_MAX is the empty key,
 * which no pair of ids below 2^32 - 1 can be. */
#define LMIO_U64MAP_EMPTY UINT64_MAX

typedef struct {
    uint64_t *keys;
    uint32_t *vals;
    size_t mask, count;
    unsigned shift; /* 64 - log2(capacity) */
} lmio_u64map;

int lmio_u64map_init(lmio_u64map *m, size_t expected);
void lmio_u64map_free(lmio_u64map *m);
/* Sets key -> val (adding or overwriting). */
int lmio_u64map_put(lmio_u64map *m, uint64_t key, uint32_t val);

static inline size_t lmio_u64map_slot(const lmio_u64map *m, uint64_t key) {
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> m->shift);
}

/* Pointer to the value of key, or NULL. */
static inline uint32_t *lmio_u64map_get(const lmio_u64map *m, uint64_t key) {
    for (size_t i = lmio_u64map_slot(m, key);; i = (i + 1) & m->mask) {
        uint64_t k = m->keys[i];
        if (k == key) return &m->vals[i];
        if (k == LMIO_U64MAP_EMPTY) return NULL;
    }
}

static inline uint64_t lmio_pair_key(uint32_t left, uint32_t right) {
    return ((uint64_t)left << 32) | right;
}

#endif
