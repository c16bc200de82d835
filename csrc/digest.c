#include "digest.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define P32_1 0x9E3779B1u
#define P32_2 0x85EBCA77u
#define P32_3 0xC2B2AE3Du
#define P64_1 0x9E3779B185EBCA87ull
#define P64_2 0xC2B2AE3D27D4EB4Full
#define P64_3 0x165667B19E3779F9ull
#define P64_4 0x85EBCA77C2B2AE63ull
#define P64_5 0x27D4EB2F165667C5ull
#define PMX_1 0x165667919E3779F9ull
#define PMX_2 0x9FB21C651E98DF25ull

#define SECRET_SIZE 192
#define STRIPE 64
#define STRIPES_PER_BLOCK ((SECRET_SIZE - STRIPE) / 8) /* 16 */

static const uint8_t SECRET[SECRET_SIZE] = {
    0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
    0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
    0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
    0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
    0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
    0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
    0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
    0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
    0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
    0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
    0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
    0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
};

/* ---- little-endian reads, 128-bit products */

static inline uint64_t rd64(const uint8_t *p) {
    uint64_t v = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(&v, p, 8);
#else
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
#endif
    return v;
}

static inline uint32_t rd32(const uint8_t *p) {
    uint32_t v = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(&v, p, 4);
#else
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
#endif
    return v;
}

static inline void mul128(uint64_t a, uint64_t b, uint64_t *lo, uint64_t *hi) {
#ifdef __SIZEOF_INT128__
    unsigned __int128 r = (unsigned __int128)a * b;
    *lo = (uint64_t)r;
    *hi = (uint64_t)(r >> 64);
#else
    uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (uint32_t)p10 + p01;
    *lo = (mid << 32) | (uint32_t)p00;
    *hi = p11 + (p10 >> 32) + (mid >> 32);
#endif
}

static inline uint64_t fold128(uint64_t a, uint64_t b) {
    uint64_t lo, hi;
    mul128(a, b, &lo, &hi);
    return lo ^ hi;
}

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }
static inline uint32_t swap32(uint32_t x) { return __builtin_bswap32(x); }
static inline uint64_t swap64(uint64_t x) { return __builtin_bswap64(x); }

static inline uint64_t avalanche(uint64_t x) {
    x ^= x >> 37;
    x *= PMX_1;
    return x ^ (x >> 32);
}

static inline uint64_t avalanche64(uint64_t x) { /* XXH64's */
    x ^= x >> 33;
    x *= P64_2;
    x ^= x >> 29;
    x *= P64_3;
    return x ^ (x >> 32);
}

typedef struct {
    uint64_t lo, hi;
} u128;

/* ---- inputs of up to 240 bytes */

static u128 hash_0to16(const uint8_t *p, size_t n) {
    u128 r;
    if (n > 8) {
        uint64_t first = rd64(p), last = rd64(p + n - 8);
        uint64_t v1 = ((rd64(SECRET + 32) ^ rd64(SECRET + 40))) ^ first ^ last;
        uint64_t v2 = (rd64(SECRET + 48) ^ rd64(SECRET + 56)) ^ last;
        uint64_t lo, hi;
        mul128(v1, P64_1, &lo, &hi);
        lo += (uint64_t)(n - 1) << 54;
        hi += v2 + (uint64_t)(uint32_t)v2 * (P32_2 - 1);
        lo ^= swap64(hi);
        uint64_t lo2, hi2;
        mul128(lo, P64_2, &lo2, &hi2);
        hi2 += hi * P64_2;
        r.lo = avalanche(lo2);
        r.hi = avalanche(hi2);
        return r;
    }
    if (n >= 4) {
        uint64_t first = rd32(p), last = rd32(p + n - 4);
        uint64_t combined = first | (last << 32);
        uint64_t v = (rd64(SECRET + 16) ^ rd64(SECRET + 24)) ^ combined;
        uint64_t lo, hi;
        mul128(v, P64_1 + ((uint64_t)n << 2), &lo, &hi);
        hi += lo << 1;
        lo ^= hi >> 3;
        lo ^= lo >> 35;
        lo *= PMX_2;
        lo ^= lo >> 28;
        r.lo = lo;
        r.hi = avalanche(hi);
        return r;
    }
    if (n) {
        uint32_t combined = (uint32_t)p[n - 1] | ((uint32_t)n << 8) | ((uint32_t)p[0] << 16) |
                            ((uint32_t)p[n >> 1] << 24);
        uint64_t lo = (uint64_t)(rd32(SECRET) ^ rd32(SECRET + 4)) ^ combined;
        uint64_t hi = (uint64_t)(rd32(SECRET + 8) ^ rd32(SECRET + 12)) ^
                      rotl32(swap32(combined), 13);
        r.lo = avalanche64(lo);
        r.hi = avalanche64(hi);
        return r;
    }
    r.lo = avalanche64(rd64(SECRET + 64) ^ rd64(SECRET + 72));
    r.hi = avalanche64(rd64(SECRET + 80) ^ rd64(SECRET + 88));
    return r;
}

static inline uint64_t mix16(const uint8_t *p, const uint8_t *secret) {
    return fold128(rd64(p) ^ rd64(secret), rd64(p + 8) ^ rd64(secret + 8));
}

static inline void mix32(uint64_t acc[2], const uint8_t *a, const uint8_t *b,
                         const uint8_t *secret) {
    acc[0] += mix16(a, secret);
    acc[1] += mix16(b, secret + 16);
    acc[0] ^= rd64(b) + rd64(b + 8);
    acc[1] ^= rd64(a) + rd64(a + 8);
}

static u128 hash_17to240(const uint8_t *p, size_t n) {
    uint64_t acc[2] = {(uint64_t)n * P64_1, 0};
    if (n <= 128) {
        for (int i = (int)((n - 1) >> 5); i >= 0; i--)
            mix32(acc, p + 16 * i, p + n - 16 * i - 16, SECRET + 32 * i);
    } else {
        size_t chunks = n >> 5;
        for (size_t i = 0; i < 4; i++) mix32(acc, p + 32 * i, p + 32 * i + 16, SECRET + 32 * i);
        acc[0] = avalanche(acc[0]);
        acc[1] = avalanche(acc[1]);
        for (size_t i = 4; i < chunks; i++)
            mix32(acc, p + 32 * i, p + 32 * i + 16, SECRET + 32 * (i - 4) + 3);
        mix32(acc, p + n - 16, p + n - 32, SECRET + 103); /* seed 0: -seed is 0 too */
    }
    u128 r;
    uint64_t hi = acc[0] * P64_1 + acc[1] * P64_4 + (uint64_t)n * P64_2;
    r.lo = avalanche(acc[0] + acc[1]);
    r.hi = 0 - avalanche(hi);
    return r;
}

/* ---- longer inputs: 8 accumulators, 64-byte stripes, 16 stripes a block */

static void init_acc(uint64_t acc[8]) {
    static const uint64_t start[8] = {P32_3, P64_1, P64_2, P64_3, P64_4, P32_2, P64_5, P32_1};
    memcpy(acc, start, sizeof(start));
}

static inline void accumulate(uint64_t acc[8], const uint8_t *stripe, const uint8_t *secret) {
    for (int i = 0; i < 8; i++) {
        uint64_t data = rd64(stripe + 8 * i);
        uint64_t key = data ^ rd64(secret + 8 * i);
        acc[i ^ 1] += data;
        acc[i] += (uint64_t)(uint32_t)key * (key >> 32);
    }
}

static inline void scramble(uint64_t acc[8]) {
    const uint8_t *secret = SECRET + SECRET_SIZE - STRIPE;
    for (int i = 0; i < 8; i++) {
        uint64_t a = acc[i];
        a ^= a >> 47;
        a ^= rd64(secret + 8 * i);
        acc[i] = a * P32_1;
    }
}

static uint64_t merge(const uint64_t acc[8], uint64_t start, const uint8_t *secret) {
    uint64_t r = start;
    for (int i = 0; i < 4; i++)
        r += fold128(acc[2 * i] ^ rd64(secret + 16 * i), acc[2 * i + 1] ^ rd64(secret + 16 * i + 8));
    return avalanche(r);
}

static void finish_long(const uint64_t acc_in[8], uint64_t n, const uint8_t last[STRIPE],
                        uint8_t out[LMIO_DIGEST_SIZE]);

static void put_be64(uint8_t *o, uint64_t v) {
    for (int i = 7; i >= 0; i--) {
        o[i] = (uint8_t)v;
        v >>= 8;
    }
}

static void canonical(u128 r, uint8_t out[LMIO_DIGEST_SIZE]) {
    put_be64(out, r.hi);
    put_be64(out + 8, r.lo);
}

static void finish_long(const uint64_t acc_in[8], uint64_t n, const uint8_t last[STRIPE],
                        uint8_t out[LMIO_DIGEST_SIZE]) {
    uint64_t acc[8];
    memcpy(acc, acc_in, sizeof(acc));
    accumulate(acc, last, SECRET + SECRET_SIZE - STRIPE - 7);
    u128 r;
    r.lo = merge(acc, n * P64_1, SECRET + 11);
    r.hi = merge(acc, ~(n * P64_2), SECRET + SECRET_SIZE - STRIPE - 11);
    canonical(r, out);
}

void lmio_digest(const void *data, size_t n, uint8_t out[LMIO_DIGEST_SIZE]) {
    const uint8_t *p = data ? data : (const uint8_t *)"";
    if (n <= 16) {
        canonical(hash_0to16(p, n), out);
        return;
    }
    if (n <= 240) {
        canonical(hash_17to240(p, n), out);
        return;
    }
    uint64_t acc[8];
    init_acc(acc);
    /* a stripe is taken in as such when at least one byte follows it; a block is scrambled
     * after its last stripe so taken */
    size_t stripes = (n - 1) / STRIPE;
    for (size_t k = 0; k < stripes; k++) {
        accumulate(acc, p + STRIPE * k, SECRET + 8 * (k % STRIPES_PER_BLOCK));
        if (k % STRIPES_PER_BLOCK == STRIPES_PER_BLOCK - 1) scramble(acc);
    }
    finish_long(acc, n, p + n - STRIPE, out);
}

void lmio_digest_init(lmio_digest_state *st) { memset(st, 0, sizeof(*st)); }

static void take_stripe(lmio_digest_state *st, const uint8_t *stripe) {
    accumulate(st->acc, stripe, SECRET + 8 * st->stripes);
    if (++st->stripes == STRIPES_PER_BLOCK) {
        scramble(st->acc);
        st->stripes = 0;
    }
}

/* Long input, nothing buffered: take stripes straight from `p`, leaving 1 .. 64 bytes (the last
 * stripe is taken by final); the bytes consumed. */
static size_t take_direct(lmio_digest_state *st, const uint8_t *p, size_t n) {
    size_t k = (n - 1) / STRIPE;
    for (size_t i = 0; i < k; i++) take_stripe(st, p + i * STRIPE);
    if (k) memcpy(st->last, p + (k - 1) * STRIPE, STRIPE);
    st->total += k * STRIPE;
    return k * STRIPE;
}

void lmio_digest_update(lmio_digest_state *st, const void *data, size_t n) {
    const uint8_t *p = data;
    while (n) {
        if (st->long_input && n > STRIPE - st->buffered) {
            if (st->buffered) { /* complete the buffered stripe: more bytes follow it */
                size_t fill = STRIPE - st->buffered;
                memcpy(st->buf + st->buffered, p, fill);
                st->total += fill;
                p += fill;
                n -= fill;
                take_stripe(st, st->buf);
                memcpy(st->last, st->buf, STRIPE);
                st->buffered = 0;
            }
            size_t used = take_direct(st, p, n);
            p += used;
            n -= used;
        }
        size_t take = sizeof(st->buf) - st->buffered;
        if (take > n) take = n;
        memcpy(st->buf + st->buffered, p, take);
        st->buffered += take;
        st->total += take;
        p += take;
        n -= take;
        if (st->total <= 240) continue; /* the whole input may still fit the short forms */
        if (!st->long_input) {
            st->long_input = 1;
            init_acc(st->acc);
        }
        size_t off = 0;
        for (; st->buffered - off > STRIPE; off += STRIPE) take_stripe(st, st->buf + off);
        if (off) {
            memcpy(st->last, st->buf + off - STRIPE, STRIPE);
            memmove(st->buf, st->buf + off, st->buffered - off);
            st->buffered -= off;
        }
    }
}

void lmio_digest_final(const lmio_digest_state *st, uint8_t out[LMIO_DIGEST_SIZE]) {
    if (!st->long_input) {
        lmio_digest(st->buf, st->buffered, out);
        return;
    }
    uint8_t last[STRIPE]; /* the input's last 64 bytes: the pending ones and what came before */
    size_t pending = st->buffered;
    memcpy(last, st->last + pending, STRIPE - pending);
    memcpy(last + STRIPE - pending, st->buf, pending);
    finish_long(st->acc, st->total, last, out);
}

/* ------------------------------------------------------------------ the set */

void lmio_digest_set_init(lmio_digest_set *set) { memset(set, 0, sizeof(*set)); }

void lmio_digest_set_free(lmio_digest_set *set) {
    free(set->keys);
    free(set->used);
    lmio_digest_set_init(set);
}

static size_t digest_slot(const uint8_t *d, size_t mask) {
    return (size_t)lmio_mum(lmio_load64(d) ^ 0xa0761d6478bd642full, lmio_load64(d + 8)) & mask;
}

/* The slot holding `d`, or the empty slot where it would go. */
static size_t find_digest(const lmio_digest_set *set, const uint8_t *d) {
    size_t mask = set->cap - 1, i = digest_slot(d, mask);
    while (set->used[i] && memcmp(set->keys + i * LMIO_DIGEST_SIZE, d, LMIO_DIGEST_SIZE))
        i = (i + 1) & mask;
    return i;
}

static int grow_digest_set(lmio_digest_set *set, size_t need) {
    size_t cap = set->cap ? set->cap : 1024;
    while (cap / 2 < need) cap *= 2;
    if (cap == set->cap) return LMIO_OK;
    lmio_digest_set bigger = {malloc(cap * LMIO_DIGEST_SIZE), calloc(cap, 1), cap, set->n};
    if (!bigger.keys || !bigger.used) {
        free(bigger.keys);
        free(bigger.used);
        return LMIO_ENOMEM;
    }
    for (size_t i = 0; i < set->cap; i++) {
        if (!set->used[i]) continue;
        size_t j = find_digest(&bigger, set->keys + i * LMIO_DIGEST_SIZE);
        memcpy(bigger.keys + j * LMIO_DIGEST_SIZE, set->keys + i * LMIO_DIGEST_SIZE,
               LMIO_DIGEST_SIZE);
        bigger.used[j] = 1;
    }
    free(set->keys);
    free(set->used);
    *set = bigger;
    return LMIO_OK;
}

int lmio_digest_set_add(lmio_digest_set *set, const uint8_t *digests, size_t n, uint8_t *fresh) {
    if (grow_digest_set(set, set->n + n)) return LMIO_ENOMEM;
    for (size_t k = 0; k < n; k++) {
        const uint8_t *d = digests + k * LMIO_DIGEST_SIZE;
        size_t i = find_digest(set, d);
        fresh[k] = !set->used[i];
        if (fresh[k]) {
            memcpy(set->keys + i * LMIO_DIGEST_SIZE, d, LMIO_DIGEST_SIZE);
            set->used[i] = 1;
            set->n++;
        }
    }
    return LMIO_OK;
}
