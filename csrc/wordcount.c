#include "wordcount.h"

#include <stdatomic.h>

#include "parallel.h"
#include "pretok.h"

/* Texts longer than twice this are cut at safe split points for the threads. */
#define CHUNK_BYTES ((size_t)1 << 20)

struct lmio_wordcount {
    int pattern;
    lmio_scanner scan;
    lmio_specials specials;
    lmio_wordtable table;
};

void lmio_wordtable_free(lmio_wordtable *t) {
    lmio_arena_free(&t->words);
    lmio_strmap_free(&t->index);
    free(t->counts);
    memset(t, 0, sizeof(*t));
}

int lmio_wordtable_add(lmio_wordtable *t, const uint8_t *w, size_t n, uint64_t h, uint64_t count) {
    t->total += count;
    if (!t->index.slots && lmio_strmap_init(&t->index, 1024)) return LMIO_ENOMEM;
    int64_t id = lmio_strmap_get(&t->index, &t->words, w, n, h);
    if (id >= 0) {
        t->counts[id] += count;
        return LMIO_OK;
    }
    size_t k = t->words.n;
    if (k >= UINT32_MAX - 1) return LMIO_ENOMEM; /* ids are 32-bit */
    if (k == t->counts_cap) {
        size_t cap = lmio_grow_cap(t->counts_cap, k + 1, sizeof(uint64_t));
        uint64_t *c = cap ? realloc(t->counts, cap * sizeof(uint64_t)) : NULL;
        if (!c) return LMIO_ENOMEM;
        t->counts = c;
        t->counts_cap = cap;
    }
    if (lmio_arena_push(&t->words, w, n)) return LMIO_ENOMEM;
    if (lmio_strmap_put(&t->index, &t->words, (uint32_t)k, h)) return LMIO_ENOMEM;
    t->counts[k] = count;
    return LMIO_OK;
}

int lmio_wordcount_new(int pattern, const uint8_t *const *special, const size_t *special_lens,
                       size_t n_special, lmio_wordcount **out, char *err, size_t errlen) {
    *out = NULL;
    lmio_scanner scan = lmio_scanner_for(pattern);
    if (!scan && pattern != LMIO_PATTERN_CUSTOM)
        return lmio_fail(err, errlen, "unknown pattern id %d (expected -1 or 0..%d)", pattern,
                         LMIO_PATTERN_COUNT - 1);
    lmio_wordcount *wc = calloc(1, sizeof(*wc));
    if (!wc) return LMIO_ENOMEM;
    wc->pattern = pattern;
    wc->scan = scan;
    int rc = lmio_specials_init(&wc->specials, special, special_lens, n_special, err, errlen);
    if (rc) {
        free(wc);
        return rc;
    }
    *out = wc;
    return LMIO_OK;
}

void lmio_wordcount_free(lmio_wordcount *wc) {
    if (!wc) return;
    lmio_specials_free(&wc->specials);
    lmio_wordtable_free(&wc->table);
    free(wc);
}

int lmio_wordcount_pattern(const lmio_wordcount *wc) { return wc->pattern; }
const lmio_wordtable *lmio_wordcount_table(const lmio_wordcount *wc) { return &wc->table; }

/* Counts the words of s[0..n), special strings cut out. */
static int count_text(const lmio_wordcount *wc, const lmio_special_search *q, lmio_wordtable *t,
                      const uint8_t *s, size_t n) {
    lmio_scanner scan = wc->scan;
    for (size_t pos = 0; pos < n;) {
        size_t which = 0, stop = lmio_special_find(q, s, n, pos, &which);
        for (size_t i = pos; i < stop;) {
            size_t j = scan(s + pos, stop - pos, i - pos) + pos;
            if (lmio_wordtable_add(t, s + i, j - i, lmio_hash_bytes(s + i, j - i), 1))
                return LMIO_ENOMEM;
            i = j;
        }
        pos = stop == n ? n : stop + lmio_special_len(&wc->specials, which);
    }
    return LMIO_OK;
}

typedef struct {
    size_t text, start, end;
} chunk;

typedef struct {
    const lmio_wordcount *wc;
    const lmio_special_search *q;
    const uint8_t *const *texts;
    const chunk *chunks;
    size_t n_chunks;
    lmio_wordtable *tables; /* one per thread */
    atomic_size_t next;
    atomic_int failed;
} count_ctx;

static void count_worker(void *p, int t) {
    count_ctx *c = p;
    for (;;) {
        size_t k = atomic_fetch_add(&c->next, 1);
        if (k >= c->n_chunks || atomic_load(&c->failed)) return;
        const chunk *ch = &c->chunks[k];
        if (count_text(c->wc, c->q, &c->tables[t], c->texts[ch->text] + ch->start,
                       ch->end - ch->start)) {
            atomic_store(&c->failed, 1);
            return;
        }
    }
}

static int merge_into(lmio_wordtable *dst, lmio_wordtable *src) {
    if (!dst->words.n) { /* the first table becomes the counter's own */
        uint64_t total = dst->total + src->total;
        lmio_wordtable_free(dst);
        *dst = *src;
        dst->total = total;
        memset(src, 0, sizeof(*src));
        return LMIO_OK;
    }
    for (size_t k = 0; k < src->words.n; k++) {
        size_t len;
        const uint8_t *w = lmio_arena_str(&src->words, k, &len);
        if (lmio_wordtable_add(dst, w, len, lmio_hash_bytes(w, len), src->counts[k]))
            return LMIO_ENOMEM;
    }
    return LMIO_OK;
}

int lmio_wordcount_add_texts(lmio_wordcount *wc, const uint8_t *const *texts, const size_t *lens,
                             size_t n, int nthreads) {
    if (!wc->scan) return LMIO_EINVAL;
    lmio_special_search q;
    lmio_special_search_init(&q, &wc->specials, NULL);
    if (nthreads < 1) nthreads = 1;
    if (nthreads > LMIO_MAX_THREADS) nthreads = LMIO_MAX_THREADS;
    if (nthreads == 1) {
        for (size_t i = 0; i < n; i++) {
            int rc = count_text(wc, &q, &wc->table, texts[i], lens[i]);
            if (rc) return rc;
        }
        return LMIO_OK;
    }
    int may_split = !(q.any && lmio_special_search_has_byte(&q, '\n'));
    size_t cap = n ? n : 1, n_chunks = 0;
    chunk *chunks = malloc(cap * sizeof(chunk));
    lmio_wordtable *tables = NULL;
    int rc = chunks ? LMIO_OK : LMIO_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++) {
        size_t start = 0;
        while (start < lens[i] && !rc) {
            size_t end = lens[i];
            if (may_split && end - start > 2 * CHUNK_BYTES)
                end = lmio_pretok_safe_split(texts[i], lens[i], start + CHUNK_BYTES);
            if (n_chunks == cap) {
                chunk *more = realloc(chunks, 2 * cap * sizeof(chunk));
                if (!more) {
                    rc = LMIO_ENOMEM;
                    break;
                }
                chunks = more;
                cap *= 2;
            }
            chunks[n_chunks++] = (chunk){i, start, end};
            start = end;
        }
    }
    if ((size_t)nthreads > n_chunks) nthreads = n_chunks ? (int)n_chunks : 1; /* none idle */
    if (!rc && !(tables = calloc((size_t)nthreads, sizeof(lmio_wordtable)))) rc = LMIO_ENOMEM;
    if (!rc) {
        count_ctx c = {.wc = wc, .q = &q, .texts = texts, .chunks = chunks, .n_chunks = n_chunks,
                       .tables = tables};
        atomic_init(&c.next, 0);
        atomic_init(&c.failed, 0);
        lmio_parallel(nthreads, count_worker, &c);
        if (atomic_load(&c.failed)) rc = LMIO_ENOMEM;
    }
    /* merge each thread's table into the counter, freeing it as soon as it is merged */
    for (int t = 0; tables && t < nthreads; t++) {
        if (!rc) rc = merge_into(&wc->table, &tables[t]);
        lmio_wordtable_free(&tables[t]);
    }
    free(tables);
    free(chunks);
    return rc;
}

int lmio_wordcount_add_pieces(lmio_wordcount *wc, const uint8_t *const *pieces,
                              const size_t *lens, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (!lens[i]) continue;
        if (lmio_wordtable_add(&wc->table, pieces[i], lens[i], lmio_hash_bytes(pieces[i], lens[i]),
                               1))
            return LMIO_ENOMEM;
    }
    return LMIO_OK;
}
