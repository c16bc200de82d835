#include "common.h"

#include <stdarg.h>
#include <stdio.h>

int lmio_u32vec_reserve(lmio_u32vec *v, size_t need) {
    if (need <= v->cap) return LMIO_OK;
    size_t cap = lmio_grow_cap(v->cap, need, sizeof(uint32_t));
    uint32_t *data = cap ? realloc(v->data, cap * sizeof(uint32_t)) : NULL;
    if (!data) return LMIO_ENOMEM;
    v->data = data;
    v->cap = cap;
    return LMIO_OK;
}

int lmio_bytevec_append(lmio_bytevec *v, const void *src, size_t n) {
    if (n > SIZE_MAX - v->len) return LMIO_ENOMEM;
    if (v->len + n > v->cap) {
        size_t cap = lmio_grow_cap(v->cap, v->len + n, 1);
        uint8_t *data = cap ? realloc(v->data, cap) : NULL;
        if (!data) return LMIO_ENOMEM;
        v->data = data;
        v->cap = cap;
    }
    if (n) memcpy(v->data + v->len, src, n);
    v->len += n;
    return LMIO_OK;
}

int lmio_arena_push(lmio_arena *a, const void *src, size_t len) {
    size_t used = a->n ? a->offs[a->n] : 0;
    if (len > SIZE_MAX - used) return LMIO_ENOMEM;
    if (used + len > a->data_cap) {
        size_t cap = lmio_grow_cap(a->data_cap, used + len, 1);
        uint8_t *data = cap ? realloc(a->data, cap) : NULL;
        if (!data) return LMIO_ENOMEM;
        a->data = data;
        a->data_cap = cap;
    }
    if (a->n + 2 > a->offs_cap) {
        size_t cap = lmio_grow_cap(a->offs_cap, a->n + 2, sizeof(size_t));
        size_t *offs = cap ? realloc(a->offs, cap * sizeof(size_t)) : NULL;
        if (!offs) return LMIO_ENOMEM;
        a->offs = offs;
        a->offs_cap = cap;
    }
    if (len) memcpy(a->data + used, src, len);
    a->offs[a->n] = used;
    a->offs[a->n + 1] = used + len;
    a->n++;
    return LMIO_OK;
}

void lmio_arena_free(lmio_arena *a) {
    free(a->data);
    free(a->offs);
    memset(a, 0, sizeof(*a));
}

int lmio_fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return LMIO_EINVAL;
}
