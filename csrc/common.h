/* Shared plumbing of the C core: status codes and growable arrays. No Python here. */
#ifndef LMIO_COMMON_H
#define LMIO_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Every fallible function returns one of these; only LMIO_OK is zero. */
enum {
    LMIO_OK = 0,
    LMIO_ENOMEM = 1,    /* an allocation failed */
    LMIO_EINVAL = 2,    /* bad argument; a message says which */
    LMIO_ETHREAD = 3,   /* pthread_create failed */
    LMIO_ECALLBACK = 4, /* a caller's callback asked to stop (e.g. a Python exception) */
};

#define LMIO_LIKELY(x) __builtin_expect(!!(x), 1)
#define LMIO_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Capacity growth that cannot overflow: returns 0 when `need` elements of `size` bytes
 * would not fit in size_t. */
static inline size_t lmio_grow_cap(size_t cap, size_t need, size_t size) {
    size_t limit = SIZE_MAX / size;
    if (need > limit) return 0;
    size_t c = cap ? cap : 16;
    while (c < need) c = c > limit / 2 ? limit : c * 2;
    return c;
}

/* A growable array of uint32 (token ids, symbols, word positions). */
typedef struct {
    uint32_t *data;
    size_t len, cap;
} lmio_u32vec;

int lmio_u32vec_reserve(lmio_u32vec *v, size_t need);

static inline int lmio_u32vec_push(lmio_u32vec *v, uint32_t x) {
    if (LMIO_UNLIKELY(v->len == v->cap) && lmio_u32vec_reserve(v, v->len + 1)) return LMIO_ENOMEM;
    v->data[v->len++] = x;
    return LMIO_OK;
}

static inline void lmio_u32vec_free(lmio_u32vec *v) {
    free(v->data);
    v->data = NULL;
    v->len = v->cap = 0;
}

/* A growable byte buffer (decoded text). */
typedef struct {
    uint8_t *data;
    size_t len, cap;
} lmio_bytevec;

int lmio_bytevec_append(lmio_bytevec *v, const void *src, size_t n);

static inline void lmio_bytevec_free(lmio_bytevec *v) {
    free(v->data);
    v->data = NULL;
    v->len = v->cap = 0;
}

/* Byte strings 0..n-1 stored back to back: string i is data[offs[i] .. offs[i+1]). */
typedef struct {
    uint8_t *data;
    size_t *offs; /* n + 1 entries once n > 0 */
    size_t n, data_cap, offs_cap;
} lmio_arena;

int lmio_arena_push(lmio_arena *a, const void *src, size_t len);
void lmio_arena_free(lmio_arena *a);

static inline const uint8_t *lmio_arena_str(const lmio_arena *a, size_t i, size_t *len) {
    *len = a->offs[i + 1] - a->offs[i];
    return a->data + a->offs[i];
}

/* Writes a message into a caller's buffer (may be NULL) and returns LMIO_EINVAL. */
int lmio_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
