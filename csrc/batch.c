#include "batch.h"

#include <stdatomic.h>

#include "parallel.h"

/* Documents longer than twice this are cut at safe split points (pretok.h) so that one huge
 * document does not leave the other threads idle. */
#define CHUNK_BYTES ((size_t)1 << 20)

typedef struct {
    size_t doc, start, end; /* bytes [start, end) of texts[doc] */
    int thread;
    size_t out_start, out_len; /* where its tokens are in that thread's buffer */
} work_item;

struct lmio_batch {
    size_t n_docs, n_items, total;
    work_item *items; /* in document order */
    lmio_u32vec *bufs; /* one per thread */
    int nthreads;
};

typedef struct {
    size_t len, item;
} by_len;

typedef struct {
    const lmio_encoder *enc;
    const lmio_special_search *q;
    const uint8_t *const *texts;
    work_item *items;
    const by_len *order; /* the order items are handed out in */
    size_t n_items;
    lmio_u32vec *bufs;
    atomic_size_t next;
    atomic_int failed;
} batch_ctx;

static void batch_worker(void *p, int t) {
    batch_ctx *c = p;
    lmio_u32vec *out = &c->bufs[t];
    for (;;) {
        size_t k = atomic_fetch_add(&c->next, 1);
        if (k >= c->n_items || atomic_load(&c->failed)) return;
        work_item *it = &c->items[c->order[k].item];
        it->thread = t;
        it->out_start = out->len;
        if (lmio_encode_with(c->enc, c->q, c->texts[it->doc] + it->start, it->end - it->start,
                             out)) {
            atomic_store(&c->failed, 1);
            return;
        }
        it->out_len = out->len - it->out_start;
    }
}

static int cmp_longest_first(const void *a, const void *b) {
    const by_len *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return x->item < y->item ? -1 : 1;
}

/* Work items: one per document, or several for a long one when splitting is allowed. */
static int make_items(lmio_batch *b, const uint8_t *const *texts, const size_t *lens,
                      int may_split) {
    size_t cap = b->n_docs ? b->n_docs : 1;
    b->items = malloc(cap * sizeof(work_item));
    if (!b->items) return LMIO_ENOMEM;
    for (size_t d = 0; d < b->n_docs; d++) {
        size_t start = 0;
        do {
            size_t end = lens[d];
            if (may_split && end - start > 2 * CHUNK_BYTES)
                end = lmio_pretok_safe_split(texts[d], lens[d], start + CHUNK_BYTES);
            if (b->n_items == cap) {
                work_item *items = realloc(b->items, 2 * cap * sizeof(work_item));
                if (!items) return LMIO_ENOMEM;
                b->items = items;
                cap *= 2;
            }
            b->items[b->n_items++] = (work_item){d, start, end, 0, 0, 0};
            start = end;
        } while (start < lens[d]);
    }
    return LMIO_OK;
}

int lmio_encode_batch(const lmio_encoder *e, const uint8_t *const *texts, const size_t *lens,
                      size_t n, const uint8_t *allowed, int nthreads, lmio_batch **out) {
    *out = NULL;
    if (lmio_encoder_pattern(e) == LMIO_PATTERN_CUSTOM) return LMIO_EINVAL;
    if (nthreads < 1) nthreads = 1;
    if (nthreads > LMIO_MAX_THREADS) nthreads = LMIO_MAX_THREADS;
    lmio_special_search q = {.sp = lmio_encoder_specials(e), .any = 0};
    if (allowed) lmio_special_search_init(&q, lmio_encoder_specials(e), allowed);
    /* a special token that holds a newline could straddle a split point */
    int may_split = nthreads > 1 && !(q.any && lmio_special_search_has_byte(&q, '\n'));

    lmio_batch *b = calloc(1, sizeof(*b));
    if (!b) return LMIO_ENOMEM;
    b->n_docs = n;
    b->nthreads = nthreads;
    by_len *order = NULL;
    int rc = make_items(b, texts, lens, may_split);
    if (!rc) {
        order = malloc((b->n_items ? b->n_items : 1) * sizeof(by_len));
        b->bufs = calloc((size_t)nthreads, sizeof(lmio_u32vec));
        if (!order || !b->bufs) rc = LMIO_ENOMEM;
    }
    if (!rc) {
        for (size_t k = 0; k < b->n_items; k++)
            order[k] = (by_len){b->items[k].end - b->items[k].start, k};
        if (nthreads > 1) /* longest first, so the longest do not start last */
            qsort(order, b->n_items, sizeof(by_len), cmp_longest_first);
        batch_ctx c = {.enc = e, .q = &q, .texts = texts, .items = b->items, .order = order,
                       .n_items = b->n_items, .bufs = b->bufs};
        atomic_init(&c.next, 0);
        atomic_init(&c.failed, 0);
        int threads = (size_t)nthreads < b->n_items ? nthreads : (int)b->n_items;
        lmio_parallel(threads, batch_worker, &c);
        if (atomic_load(&c.failed)) rc = LMIO_ENOMEM;
        for (size_t k = 0; k < b->n_items; k++) b->total += b->items[k].out_len;
    }
    free(order);
    if (rc) {
        lmio_batch_free(b);
        return rc;
    }
    *out = b;
    return LMIO_OK;
}

size_t lmio_batch_total(const lmio_batch *b) { return b->total; }

void lmio_batch_copy(const lmio_batch *b, uint32_t *tokens, int64_t *offsets) {
    size_t pos = 0, k = 0;
    for (size_t d = 0; d < b->n_docs; d++) {
        offsets[d] = (int64_t)pos;
        for (; k < b->n_items && b->items[k].doc == d; k++) {
            const work_item *it = &b->items[k];
            if (it->out_len)
                memcpy(tokens + pos, b->bufs[it->thread].data + it->out_start,
                       it->out_len * sizeof(uint32_t));
            pos += it->out_len;
        }
    }
    offsets[b->n_docs] = (int64_t)pos;
}

int lmio_batch_copy_as(const lmio_batch *b, const uint8_t *append, uint32_t token, int itemsize,
                       void *tokens, int64_t *offsets, uint32_t *bad) {
    if (itemsize != 2 && itemsize != 4) return LMIO_EINVAL;
    uint32_t limit = itemsize == 2 ? 0xFFFFu : 0xFFFFFFFFu;
    uint16_t *t16 = tokens;
    uint32_t *t32 = tokens;
    size_t pos = 0, k = 0;
    for (size_t d = 0; d < b->n_docs; d++) {
        offsets[d] = (int64_t)pos;
        for (; k < b->n_items && b->items[k].doc == d; k++) {
            const work_item *it = &b->items[k];
            const uint32_t *src = b->bufs[it->thread].data + it->out_start;
            if (itemsize == 4) {
                if (it->out_len) memcpy(t32 + pos, src, it->out_len * sizeof(uint32_t));
            } else {
                for (size_t i = 0; i < it->out_len; i++) {
                    if (src[i] > limit) {
                        *bad = src[i];
                        return LMIO_EINVAL;
                    }
                    t16[pos + i] = (uint16_t)src[i];
                }
            }
            pos += it->out_len;
        }
        if (append && append[d]) {
            if (token > limit) {
                *bad = token;
                return LMIO_EINVAL;
            }
            if (itemsize == 4) t32[pos] = token;
            else t16[pos] = (uint16_t)token;
            pos++;
        }
    }
    offsets[b->n_docs] = (int64_t)pos;
    return LMIO_OK;
}

void lmio_batch_free(lmio_batch *b) {
    if (!b) return;
    for (int t = 0; b->bufs && t < b->nthreads; t++) lmio_u32vec_free(&b->bufs[t]);
    free(b->bufs);
    free(b->items);
    free(b);
}
