#include "train.h"

typedef struct {
    int64_t count; /* HF's pair_counts entry */
    uint32_t stamp; /* the merge step whose positive deltas last touched it */
    uint32_t slot;  /* its index in that step's touched list (or a scratch counter at start) */
} pair_rec;

/* A heap entry: HF's Merge{pair, count, pos}. Positions are ascending, unique word indices. */
typedef struct {
    uint64_t count;
    uint64_t key; /* left << 32 | right */
    union {
        uint32_t *list; /* npos > 1 */
        uint32_t one;   /* npos == 1 */
    } pos;
    uint32_t npos;
    uint32_t owned; /* list was malloc'd (else it lies in the initial block) */
} entry;

/* A pair touched by a positive delta in the current step, and the words where it was. */
typedef struct {
    uint64_t key;
    uint32_t rec;
    uint32_t first;    /* first position */
    lmio_u32vec more;  /* all positions, once there are two */
} touched;

typedef struct {
    /* words: symbols of word w are sym[off[w] .. off[w] + len[w]) */
    uint32_t *sym;
    size_t *off;
    uint32_t *len;
    const uint64_t *cnt;
    size_t n_words;
    /* pairs */
    lmio_u64map pair_index; /* key -> index in recs */
    pair_rec *recs;
    size_t n_recs, recs_cap;
    /* heap */
    entry *heap;
    size_t n_heap, heap_cap;
    /* tokens */
    lmio_arena tokens;
    lmio_strmap token_index;
    /* the current step */
    uint32_t step;
    touched *touched;
    size_t n_touched, touched_cap;
} trainer;

/* ---- heap: max by count, then min by key ---- */

static inline int higher(const entry *a, const entry *b) {
    return a->count > b->count || (a->count == b->count && a->key < b->key);
}

static int heap_push(trainer *t, const entry *x) {
    if (t->n_heap == t->heap_cap) {
        size_t cap = lmio_grow_cap(t->heap_cap, t->n_heap + 1, sizeof(entry));
        entry *h = cap ? realloc(t->heap, cap * sizeof(entry)) : NULL;
        if (!h) return LMIO_ENOMEM;
        t->heap = h;
        t->heap_cap = cap;
    }
    size_t i = t->n_heap++;
    while (i) {
        size_t parent = (i - 1) / 2;
        if (!higher(x, &t->heap[parent])) break;
        t->heap[i] = t->heap[parent];
        i = parent;
    }
    t->heap[i] = *x;
    return LMIO_OK;
}

static void sift_down(entry *h, size_t n, size_t i) {
    entry x = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && higher(&h[c + 1], &h[c])) c++;
        if (!higher(&h[c], &x)) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

static entry heap_pop(trainer *t) {
    entry top = t->heap[0];
    t->heap[0] = t->heap[--t->n_heap];
    if (t->n_heap) sift_down(t->heap, t->n_heap, 0);
    return top;
}

static void entry_free(entry *e) {
    if (e->npos > 1 && e->owned) free(e->pos.list);
}

/* ---- pairs ---- */

/* Index of the pair's record, created (count 0) if new; UINT32_MAX when out of memory. */
static inline uint32_t rec_of(trainer *t, uint64_t key) {
    const uint32_t *v = lmio_u64map_get(&t->pair_index, key);
    if (LMIO_LIKELY(v != NULL)) return *v;
    if (t->n_recs == t->recs_cap) {
        size_t cap = lmio_grow_cap(t->recs_cap, t->n_recs + 1, sizeof(pair_rec));
        pair_rec *r = cap ? realloc(t->recs, cap * sizeof(pair_rec)) : NULL;
        if (!r) return UINT32_MAX;
        t->recs = r;
        t->recs_cap = cap;
    }
    if (t->n_recs >= UINT32_MAX - 1) return UINT32_MAX;
    uint32_t idx = (uint32_t)t->n_recs++;
    t->recs[idx] = (pair_rec){0, 0, 0};
    if (lmio_u64map_put(&t->pair_index, key, idx)) return UINT32_MAX;
    return idx;
}

/* A negative delta: the pair exists (it is in a word), so its record does too. */
static inline int delta_down(trainer *t, uint32_t l, uint32_t r, int64_t c) {
    uint32_t k = rec_of(t, lmio_pair_key(l, r));
    if (k == UINT32_MAX) return LMIO_ENOMEM;
    t->recs[k].count -= c;
    return LMIO_OK;
}

/* A positive delta in word w: also remember w for the pair's new heap entry. */
static inline int delta_up(trainer *t, uint32_t l, uint32_t r, int64_t c, uint32_t w) {
    uint64_t key = lmio_pair_key(l, r);
    uint32_t k = rec_of(t, key);
    if (k == UINT32_MAX) return LMIO_ENOMEM;
    pair_rec *p = &t->recs[k];
    p->count += c;
    if (p->stamp != t->step) {
        if (t->n_touched == t->touched_cap) {
            size_t cap = lmio_grow_cap(t->touched_cap, t->n_touched + 1, sizeof(touched));
            touched *tt = cap ? realloc(t->touched, cap * sizeof(touched)) : NULL;
            if (!tt) return LMIO_ENOMEM;
            t->touched = tt;
            t->touched_cap = cap;
        }
        p->stamp = t->step;
        p->slot = (uint32_t)t->n_touched;
        t->touched[t->n_touched++] = (touched){key, k, w, {NULL, 0, 0}};
        return LMIO_OK;
    }
    touched *tc = &t->touched[p->slot];
    if (!tc->more.len) {
        if (tc->first == w) return LMIO_OK;
        if (lmio_u32vec_reserve(&tc->more, 4)) return LMIO_ENOMEM;
        tc->more.data[tc->more.len++] = tc->first;
    } else if (tc->more.data[tc->more.len - 1] == w) {
        return LMIO_OK;
    }
    return lmio_u32vec_push(&tc->more, w);
}

/* HF's Word::merge on word w: left to right, non-overlapping, with its exact deltas. */
static int merge_word(trainer *t, uint32_t w, uint32_t a, uint32_t b, uint32_t id) {
    uint32_t *s = t->sym + t->off[w];
    uint32_t len = t->len[w], out = 0, r = 0;
    int64_t c = (int64_t)t->cnt[w];
    int rc = LMIO_OK;
    while (r < len) {
        if (s[r] == a && r + 1 < len && s[r + 1] == b) {
            if (out > 0) {
                uint32_t prev = s[out - 1];
                if ((rc = delta_down(t, prev, a, c)) || (rc = delta_up(t, prev, id, c, w))) break;
            }
            s[out++] = id;
            r += 2;
            if (r < len) {
                uint32_t next = s[r];
                if ((rc = delta_down(t, b, next, c)) || (rc = delta_up(t, id, next, c, w))) break;
            }
        } else {
            s[out++] = s[r++];
        }
    }
    if (rc) { /* keep the word consistent for the cleanup (contents no longer matter) */
        while (r < len) s[out++] = s[r++];
    }
    t->len[w] = out;
    return rc;
}

/* ---- setup ---- */

static int load_words(trainer *t, const lmio_wordtable *words, const uint32_t byte_id[256]) {
    t->n_words = words->words.n;
    t->cnt = words->counts;
    size_t total = t->n_words ? words->words.offs[t->n_words] : 0;
    t->sym = malloc((total ? total : 1) * sizeof(uint32_t));
    t->off = malloc((t->n_words ? t->n_words : 1) * sizeof(size_t));
    t->len = malloc((t->n_words ? t->n_words : 1) * sizeof(uint32_t));
    if (!t->sym || !t->off || !t->len) return LMIO_ENOMEM;
    for (size_t w = 0; w < t->n_words; w++) {
        size_t len;
        const uint8_t *s = lmio_arena_str(&words->words, w, &len);
        if (len >= UINT32_MAX) return LMIO_ENOMEM;
        t->off[w] = words->words.offs[w];
        t->len[w] = (uint32_t)len;
        for (size_t i = 0; i < len; i++) t->sym[t->off[w] + i] = byte_id[s[i]];
    }
    return LMIO_OK;
}

/* HF's count_pairs: every pair's count and the words it occurs in, as heap entries. Two passes
 * so that all initial position lists share one block (no allocation per pair). */
static int count_pairs(trainer *t, uint32_t **block_out) {
    *block_out = NULL;
    if (lmio_u64map_init(&t->pair_index, 1 << 16)) return LMIO_ENOMEM;
    size_t n_positions = 0;
    for (size_t w = 0; w < t->n_words; w++) {
        const uint32_t *s = t->sym + t->off[w];
        for (uint32_t i = 0; i + 1 < t->len[w]; i++) {
            uint32_t k = rec_of(t, lmio_pair_key(s[i], s[i + 1]));
            if (k == UINT32_MAX) return LMIO_ENOMEM;
            pair_rec *p = &t->recs[k];
            p->count += (int64_t)t->cnt[w];
            if (p->stamp != w + 1) { /* first time in this word */
                p->stamp = (uint32_t)(w + 1);
                p->slot++;
                n_positions++;
            }
        }
    }
    uint32_t *block = malloc((n_positions ? n_positions : 1) * sizeof(uint32_t));
    size_t *start = malloc((t->n_recs ? t->n_recs : 1) * sizeof(size_t));
    if (!block || !start) {
        free(block);
        free(start);
        return LMIO_ENOMEM;
    }
    *block_out = block;
    size_t sum = 0;
    for (size_t k = 0; k < t->n_recs; k++) {
        start[k] = sum;
        sum += t->recs[k].slot;
        t->recs[k].stamp = 0;
        t->recs[k].slot = 0;
    }
    for (size_t w = 0; w < t->n_words; w++) {
        const uint32_t *s = t->sym + t->off[w];
        for (uint32_t i = 0; i + 1 < t->len[w]; i++) {
            uint32_t k = *lmio_u64map_get(&t->pair_index, lmio_pair_key(s[i], s[i + 1]));
            pair_rec *p = &t->recs[k];
            if (p->stamp != w + 1) {
                p->stamp = (uint32_t)(w + 1);
                block[start[k] + p->slot++] = (uint32_t)w;
            }
        }
    }
    t->heap_cap = t->n_recs ? t->n_recs : 1;
    t->heap = malloc(t->heap_cap * sizeof(entry));
    if (!t->heap) {
        free(start);
        return LMIO_ENOMEM;
    }
    for (size_t i = 0; i <= t->pair_index.mask; i++) {
        uint64_t key = t->pair_index.keys[i];
        if (key == LMIO_U64MAP_EMPTY) continue;
        uint32_t k = t->pair_index.vals[i];
        pair_rec *p = &t->recs[k];
        if (p->count <= 0) continue;
        entry e = {(uint64_t)p->count, key, {NULL}, p->slot, 0};
        if (p->slot == 1)
            e.pos.one = block[start[k]];
        else
            e.pos.list = block + start[k];
        t->heap[t->n_heap++] = e;
    }
    for (size_t k = 0; k < t->n_recs; k++) t->recs[k].stamp = t->recs[k].slot = 0;
    for (size_t i = t->n_heap / 2; i-- > 0;) sift_down(t->heap, t->n_heap, i);
    free(start);
    return LMIO_OK;
}

/* The id of the token a + b: existing (a repeated merge) or new. */
static int token_for(trainer *t, uint32_t a, uint32_t b, uint32_t *id, lmio_bytevec *scratch) {
    size_t la, lb;
    const uint8_t *sa = lmio_arena_str(&t->tokens, a, &la);
    scratch->len = 0;
    if (lmio_bytevec_append(scratch, sa, la)) return LMIO_ENOMEM;
    const uint8_t *sb = lmio_arena_str(&t->tokens, b, &lb); /* after: append may not move it */
    if (lmio_bytevec_append(scratch, sb, lb)) return LMIO_ENOMEM;
    uint64_t h = lmio_hash_bytes(scratch->data, scratch->len);
    int64_t found = lmio_strmap_get(&t->token_index, &t->tokens, scratch->data, scratch->len, h);
    if (found >= 0) {
        *id = (uint32_t)found;
        return LMIO_OK;
    }
    if (t->tokens.n >= UINT32_MAX - 1) return LMIO_ENOMEM;
    *id = (uint32_t)t->tokens.n;
    if (lmio_arena_push(&t->tokens, scratch->data, scratch->len)) return LMIO_ENOMEM;
    return lmio_strmap_put(&t->token_index, &t->tokens, *id, h);
}

/* Pushes this step's touched pairs that still count, as new entries. */
static int flush_touched(trainer *t) {
    int rc = LMIO_OK;
    for (size_t i = 0; i < t->n_touched; i++) {
        touched *tc = &t->touched[i];
        int64_t count = t->recs[tc->rec].count;
        if (rc || count <= 0) {
            lmio_u32vec_free(&tc->more);
            continue;
        }
        entry e = {(uint64_t)count, tc->key, {NULL}, 1, 1};
        if (tc->more.len) {
            e.npos = (uint32_t)tc->more.len;
            e.pos.list = tc->more.data;
        } else {
            e.pos.one = tc->first;
        }
        if ((rc = heap_push(t, &e))) lmio_u32vec_free(&tc->more);
    }
    t->n_touched = 0;
    return rc;
}

static void trainer_free(trainer *t) {
    free(t->sym);
    free(t->off);
    free(t->len);
    lmio_u64map_free(&t->pair_index);
    free(t->recs);
    for (size_t i = 0; i < t->n_heap; i++) entry_free(&t->heap[i]);
    free(t->heap);
    for (size_t i = 0; i < t->n_touched; i++) lmio_u32vec_free(&t->touched[i].more);
    free(t->touched);
    lmio_arena_free(&t->tokens);
    lmio_strmap_free(&t->token_index);
}

int lmio_train_bpe(const lmio_wordtable *words, const uint8_t byte_order[256], size_t target_tokens,
                   uint64_t min_frequency, lmio_progress_fn progress, void *ctx,
                   size_t progress_every, lmio_merge **merges_out, size_t *n_merges_out,
                   char *err, size_t errlen) {
    *merges_out = NULL;
    *n_merges_out = 0;
    uint32_t byte_id[256];
    int seen[256] = {0};
    for (int i = 0; i < 256; i++) {
        if (seen[byte_order[i]]++)
            return lmio_fail(err, errlen,
                             "byte_order lists byte 0x%02x twice: it must be a permutation of the "
                             "256 byte values",
                             byte_order[i]);
        byte_id[byte_order[i]] = (uint32_t)i;
    }
    if (target_tokens > UINT32_MAX - 1) target_tokens = UINT32_MAX - 1;

    trainer t;
    memset(&t, 0, sizeof(t));
    lmio_bytevec scratch = {0};
    lmio_merge *merges = NULL;
    size_t n_merges = 0, merges_cap = 0;
    uint32_t *block = NULL;
    int rc = lmio_strmap_init(&t.token_index, 1024);
    for (int i = 0; i < 256 && !rc; i++) {
        rc = lmio_arena_push(&t.tokens, &byte_order[i], 1);
        if (!rc) rc = lmio_strmap_put(&t.token_index, &t.tokens, (uint32_t)i,
                                      lmio_hash_bytes(&byte_order[i], 1));
    }
    if (!rc) rc = load_words(&t, words, byte_id);
    if (!rc) rc = count_pairs(&t, &block);

    while (!rc && t.tokens.n < target_tokens && t.n_heap) {
        entry top = heap_pop(&t);
        pair_rec *p = &t.recs[*lmio_u64map_get(&t.pair_index, top.key)];
        if (top.count != (uint64_t)p->count) { /* stale: refresh and retry */
            top.count = (uint64_t)p->count;
            if ((rc = heap_push(&t, &top))) entry_free(&top);
            continue;
        }
        if (p->count < 1 || (uint64_t)p->count < min_frequency) {
            entry_free(&top);
            break;
        }
        uint32_t a = (uint32_t)(top.key >> 32), b = (uint32_t)top.key, id;
        if ((rc = token_for(&t, a, b, &id, &scratch))) {
            entry_free(&top);
            break;
        }
        if (n_merges == merges_cap) {
            size_t cap = lmio_grow_cap(merges_cap, n_merges + 1, sizeof(lmio_merge));
            lmio_merge *m = cap ? realloc(merges, cap * sizeof(lmio_merge)) : NULL;
            if (!m) {
                rc = LMIO_ENOMEM;
                entry_free(&top);
                break;
            }
            merges = m;
            merges_cap = cap;
        }
        merges[n_merges++] = (lmio_merge){a, b, id};
        t.step++;
        const uint32_t *pos = top.npos == 1 ? &top.pos.one : top.pos.list;
        for (uint32_t i = 0; i < top.npos && !rc; i++) rc = merge_word(&t, pos[i], a, b, id);
        entry_free(&top);
        int frc = flush_touched(&t);
        if (!rc) rc = frc;
        if (!rc && progress && progress_every && n_merges % progress_every == 0 &&
            progress(ctx, n_merges))
            rc = LMIO_ECALLBACK;
    }
    if (!rc && progress && progress_every && n_merges % progress_every != 0 &&
        progress(ctx, n_merges))
        rc = LMIO_ECALLBACK;

    trainer_free(&t);
    free(block);
    lmio_bytevec_free(&scratch);
    if (rc) {
        free(merges);
        return rc;
    }
    *merges_out = merges;
    *n_merges_out = n_merges;
    return LMIO_OK;
}
