/* Training step 1: pre-tokenize text and count the unique words ("pieces"). Threads count into
 * their own tables, merged into one at the end of each call, so memory follows the number of
 * unique words, not the size of the corpus. */
#ifndef LMIO_WORDCOUNT_H
#define LMIO_WORDCOUNT_H

#include "common.h"
#include "hash.h"
#include "specials.h"

/* Unique words with their counts. */
typedef struct {
    lmio_arena words;
    lmio_strmap index;
    uint64_t *counts;
    size_t counts_cap;
    uint64_t total; /* words counted, with multiplicity */
} lmio_wordtable;

void lmio_wordtable_free(lmio_wordtable *t);
/* Adds `count` occurrences of w[0..n) (hash h). */
int lmio_wordtable_add(lmio_wordtable *t, const uint8_t *w, size_t n, uint64_t h, uint64_t count);

typedef struct lmio_wordcount lmio_wordcount;

/* pattern: an LMIO_PATTERN_* id, or LMIO_PATTERN_CUSTOM (then only add_pieces). The special
 * strings are cut out of the text and not counted. */
int lmio_wordcount_new(int pattern, const uint8_t *const *special, const size_t *special_lens,
                       size_t n_special, lmio_wordcount **out, char *err, size_t errlen);
void lmio_wordcount_free(lmio_wordcount *wc);

/* Pre-tokenizes and counts texts[0..n) on nthreads threads. */
int lmio_wordcount_add_texts(lmio_wordcount *wc, const uint8_t *const *texts, const size_t *lens,
                             size_t n, int nthreads);
/* Counts already split words (custom patterns); empty ones are skipped. */
int lmio_wordcount_add_pieces(lmio_wordcount *wc, const uint8_t *const *pieces,
                              const size_t *lens, size_t n);

int lmio_wordcount_pattern(const lmio_wordcount *wc);
const lmio_wordtable *lmio_wordcount_table(const lmio_wordcount *wc);

#endif
