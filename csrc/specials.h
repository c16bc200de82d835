/* Finding special-token strings in text: the encoder emits them as their ids, the word counter
 * cuts them out. Tiktoken's rule: the leftmost occurrence wins; at one start, the first listed. */
#ifndef LMIO_SPECIALS_H
#define LMIO_SPECIALS_H

#include "common.h"

typedef struct {
    lmio_arena strings; /* in listing order */
    uint32_t first[257]; /* indices grouped by first byte: by_byte[first[b] .. first[b+1]) */
    uint32_t *by_byte;
} lmio_specials;

/* Copies n non-empty strings (LMIO_EINVAL names an empty one). */
int lmio_specials_init(lmio_specials *sp, const uint8_t *const *strings, const size_t *lens,
                       size_t n, char *err, size_t errlen);
void lmio_specials_free(lmio_specials *sp);

/* The set of strings a search looks for: allowed[k] for string k (NULL = all), and the first
 * bytes they start with. */
typedef struct {
    const lmio_specials *sp;
    const uint8_t *allowed;
    uint8_t heads[256];
    int any;
} lmio_special_search;

void lmio_special_search_init(lmio_special_search *q, const lmio_specials *sp,
                              const uint8_t *allowed);

/* Start of the leftmost occurrence at or after `from` (n if none); *which = its index. */
size_t lmio_special_find(const lmio_special_search *q, const uint8_t *s, size_t n, size_t from,
                         size_t *which);

static inline size_t lmio_special_len(const lmio_specials *sp, size_t k) {
    return sp->strings.offs[k + 1] - sp->strings.offs[k];
}

/* Whether any searched string contains byte b (chunked scans must not cut through one). */
int lmio_special_search_has_byte(const lmio_special_search *q, uint8_t b);

#endif
