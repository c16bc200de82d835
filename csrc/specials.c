#include "specials.h"

int lmio_specials_init(lmio_specials *sp, const uint8_t *const *strings, const size_t *lens,
                       size_t n, char *err, size_t errlen) {
    memset(sp, 0, sizeof(*sp));
    if (!n) return LMIO_OK;
    for (size_t k = 0; k < n; k++)
        if (!lens[k]) return lmio_fail(err, errlen, "special token %zu is the empty string", k);
    sp->by_byte = malloc(n * sizeof(uint32_t));
    if (!sp->by_byte) return LMIO_ENOMEM;
    for (size_t k = 0; k < n; k++) {
        if (lmio_arena_push(&sp->strings, strings[k], lens[k])) {
            lmio_specials_free(sp);
            return LMIO_ENOMEM;
        }
        sp->first[strings[k][0] + 1]++;
    }
    for (size_t b = 0; b < 256; b++) sp->first[b + 1] += sp->first[b];
    uint32_t fill[256];
    memcpy(fill, sp->first, sizeof(fill));
    for (size_t k = 0; k < n; k++) sp->by_byte[fill[strings[k][0]]++] = (uint32_t)k;
    return LMIO_OK;
}

void lmio_specials_free(lmio_specials *sp) {
    lmio_arena_free(&sp->strings);
    free(sp->by_byte);
    memset(sp, 0, sizeof(*sp));
}

void lmio_special_search_init(lmio_special_search *q, const lmio_specials *sp,
                              const uint8_t *allowed) {
    q->sp = sp;
    q->allowed = allowed;
    q->any = 0;
    memset(q->heads, 0, sizeof(q->heads));
    for (size_t k = 0; k < sp->strings.n; k++)
        if (!allowed || allowed[k]) {
            q->heads[sp->strings.data[sp->strings.offs[k]]] = 1;
            q->any = 1;
        }
}

size_t lmio_special_find(const lmio_special_search *q, const uint8_t *s, size_t n, size_t from,
                         size_t *which) {
    if (!q->any) return n;
    const lmio_specials *sp = q->sp;
    for (size_t i = from; i < n; i++) {
        if (LMIO_LIKELY(!q->heads[s[i]])) continue;
        for (uint32_t j = sp->first[s[i]]; j < sp->first[s[i] + 1]; j++) {
            uint32_t k = sp->by_byte[j];
            if (q->allowed && !q->allowed[k]) continue;
            size_t len;
            const uint8_t *t = lmio_arena_str(&sp->strings, k, &len);
            if (len <= n - i && memcmp(s + i, t, len) == 0) {
                *which = k;
                return i;
            }
        }
    }
    return n;
}

int lmio_special_search_has_byte(const lmio_special_search *q, uint8_t b) {
    const lmio_specials *sp = q->sp;
    for (size_t k = 0; k < sp->strings.n; k++) {
        if (q->allowed && !q->allowed[k]) continue;
        size_t len;
        const uint8_t *t = lmio_arena_str(&sp->strings, k, &len);
        if (memchr(t, b, len)) return 1;
    }
    return 0;
}
