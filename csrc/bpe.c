#include "bpe.h"

#include <stdio.h>

/* Pieces up to this many bytes merge with tiktoken's linear scan over a stack array: O(n * m),
 * but n is small and the arrays stay in L1. Longer ones use a heap over a linked list:
 * O(n log n), so a megabyte of one letter or digits cannot go quadratic. */
#define SMALL_PIECE 128
#define NO_RANK UINT32_MAX

typedef struct {
    uint32_t id;
    uint32_t index; /* position in listing order */
} special_id;

struct lmio_encoder {
    int pattern;
    lmio_scanner scan;
    lmio_arena tokens; /* token i's bytes */
    lmio_strmap vocab; /* bytes -> id */
    lmio_u64map pairs; /* (left, right) -> id of left+right */
    uint32_t byte_id[256];
    size_t max_token_len;
    lmio_specials special;      /* special token strings, in listing order */
    uint32_t *special_ids;      /* their ids */
    special_id *special_sorted; /* by id, for decoding */
};

size_t lmio_encoder_n_vocab(const lmio_encoder *e) { return e->tokens.n; }
int lmio_encoder_pattern(const lmio_encoder *e) { return e->pattern; }
size_t lmio_encoder_n_special(const lmio_encoder *e) { return e->special.strings.n; }
const lmio_specials *lmio_encoder_specials(const lmio_encoder *e) { return &e->special; }

void lmio_encoder_free(lmio_encoder *e) {
    if (!e) return;
    lmio_arena_free(&e->tokens);
    lmio_strmap_free(&e->vocab);
    lmio_u64map_free(&e->pairs);
    lmio_specials_free(&e->special);
    free(e->special_ids);
    free(e->special_sorted);
    free(e);
}

static int cmp_special_id(const void *a, const void *b) {
    const special_id *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Printable excerpt of a token for error messages. */
static void describe(const uint8_t *s, size_t n, char *buf, size_t size) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < size; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7F && s[i] != '\\')
            buf[o++] = (char)s[i];
        else
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", s[i]);
    }
    buf[o < size ? o : size - 1] = 0;
}

static int build_pairs(lmio_encoder *e) {
    /* every split of every token into two tokens: the merge that makes it */
    size_t n = e->tokens.n, npairs = 0;
    int rc = lmio_u64map_init(&e->pairs, n * 2);
    if (rc) return rc;
    for (size_t id = 0; id < n; id++) {
        size_t len;
        const uint8_t *t = lmio_arena_str(&e->tokens, id, &len);
        for (size_t k = 1; k < len; k++) {
            int64_t l = lmio_strmap_get(&e->vocab, &e->tokens, t, k, lmio_hash_bytes(t, k));
            if (l < 0) continue;
            int64_t r = lmio_strmap_get(&e->vocab, &e->tokens, t + k, len - k,
                                        lmio_hash_bytes(t + k, len - k));
            if (r < 0) continue;
            if ((rc = lmio_u64map_put(&e->pairs, lmio_pair_key((uint32_t)l, (uint32_t)r),
                                      (uint32_t)id)))
                return rc;
            npairs++;
        }
    }
    (void)npairs;
    return LMIO_OK;
}

int lmio_encoder_new(const uint8_t *const *tokens, const size_t *lens, size_t n,
                     const uint8_t *const *special, const size_t *special_lens,
                     const uint32_t *special_ids, size_t n_special, int pattern,
                     lmio_encoder **out, char *err, size_t errlen) {
    *out = NULL;
    char buf[96];
    if (pattern != LMIO_PATTERN_CUSTOM && !lmio_scanner_for(pattern))
        return lmio_fail(err, errlen, "unknown pattern id %d (expected -1 or 0..%d)", pattern,
                         LMIO_PATTERN_COUNT - 1);
    if (n >= UINT32_MAX)
        return lmio_fail(err, errlen, "too many tokens (%zu): ids must fit in 32 bits", n);
    lmio_encoder *e = calloc(1, sizeof(*e));
    if (!e) return LMIO_ENOMEM;
    e->pattern = pattern;
    e->scan = lmio_scanner_for(pattern);
    int rc = lmio_strmap_init(&e->vocab, n);
    for (size_t i = 0; i < 256; i++) e->byte_id[i] = NO_RANK;
    for (size_t id = 0; id < n && !rc; id++) {
        const uint8_t *t = tokens[id];
        size_t len = lens[id];
        if (len == 0) {
            rc = lmio_fail(err, errlen, "token %zu is empty: every token needs at least one byte",
                           id);
            break;
        }
        uint64_t h = lmio_hash_bytes(t, len);
        int64_t dup = lmio_strmap_get(&e->vocab, &e->tokens, t, len, h);
        if (dup >= 0) {
            describe(t, len, buf, sizeof(buf));
            rc = lmio_fail(err, errlen,
                           "tokens %lld and %zu have the same bytes b'%s': each byte string may "
                           "have one id only",
                           (long long)dup, id, buf);
            break;
        }
        if ((rc = lmio_arena_push(&e->tokens, t, len))) break;
        if ((rc = lmio_strmap_put(&e->vocab, &e->tokens, (uint32_t)id, h))) break;
        if (len == 1) e->byte_id[t[0]] = (uint32_t)id;
        if (len > e->max_token_len) e->max_token_len = len;
    }
    for (size_t b = 0; b < 256 && !rc; b++)
        if (e->byte_id[b] == NO_RANK)
            rc = lmio_fail(err, errlen,
                           "the single byte 0x%02zx is not a token: byte-level BPE needs all 256 "
                           "single bytes in the vocabulary",
                           b);
    if (!rc) rc = build_pairs(e);

    /* special tokens */
    if (!rc) rc = lmio_specials_init(&e->special, special, special_lens, n_special, err, errlen);
    if (!rc && n_special) {
        e->special_ids = malloc(n_special * sizeof(uint32_t));
        e->special_sorted = malloc(n_special * sizeof(special_id));
        if (!e->special_ids || !e->special_sorted) rc = LMIO_ENOMEM;
    }
    for (size_t k = 0; k < n_special && !rc; k++) {
        if (special_ids[k] < n) {
            describe(special[k], special_lens[k], buf, sizeof(buf));
            rc = lmio_fail(err, errlen,
                           "special token '%s' has id %u, which is already the id of a mergeable "
                           "token (0..%zu): give special tokens ids from %zu up",
                           buf, special_ids[k], n - 1, n);
        }
        e->special_ids[k] = special_ids[k];
        e->special_sorted[k] = (special_id){special_ids[k], (uint32_t)k};
    }
    if (!rc && n_special) qsort(e->special_sorted, n_special, sizeof(special_id), cmp_special_id);
    if (rc) {
        lmio_encoder_free(e);
        return rc;
    }
    *out = e;
    return LMIO_OK;
}

static inline uint32_t pair_rank(const lmio_encoder *e, uint32_t l, uint32_t r) {
    const uint32_t *v = lmio_u64map_get(&e->pairs, lmio_pair_key(l, r));
    return v ? *v : NO_RANK;
}

/* tiktoken's _byte_pair_merge on token ids: the leftmost lowest rank merges first. */
static int merge_small(const lmio_encoder *e, const uint8_t *p, size_t n, lmio_u32vec *out) {
    uint32_t ids[SMALL_PIECE], ranks[SMALL_PIECE];
    for (size_t i = 0; i < n; i++) ids[i] = e->byte_id[p[i]];
    for (size_t i = 0; i + 1 < n; i++) ranks[i] = pair_rank(e, ids[i], ids[i + 1]);
    ranks[n - 1] = NO_RANK;
    size_t m = n;
    while (m > 1) {
        uint32_t best = NO_RANK;
        size_t at = 0;
        for (size_t i = 0; i + 1 < m; i++)
            if (ranks[i] < best) {
                best = ranks[i];
                at = i;
            }
        if (best == NO_RANK) break;
        ids[at] = best;
        m--;
        for (size_t i = at + 1; i < m; i++) {
            ids[i] = ids[i + 1];
            ranks[i] = ranks[i + 1];
        }
        if (at > 0) ranks[at - 1] = pair_rank(e, ids[at - 1], ids[at]);
        if (at + 1 < m) ranks[at] = pair_rank(e, ids[at], ids[at + 1]);
    }
    if (lmio_u32vec_reserve(out, out->len + m)) return LMIO_ENOMEM;
    memcpy(out->data + out->len, ids, m * sizeof(uint32_t));
    out->len += m;
    return LMIO_OK;
}

/* The same merges for long pieces: parts form a linked list over byte positions and a min-heap
 * holds (rank, position) of candidate merges; an entry is stale when its part is gone or now
 * pairs with a different neighbour (its rank no longer matches). Ties pop the leftmost first,
 * like the linear scan. */
static inline void heap_push(uint64_t *h, size_t *n, uint64_t x) {
    size_t i = (*n)++;
    while (i) {
        size_t parent = (i - 1) / 2;
        if (h[parent] <= x) break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = x;
}

static inline uint64_t heap_pop(uint64_t *h, size_t *n) {
    uint64_t top = h[0], x = h[--*n];
    size_t i = 0, len = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= len) break;
        if (c + 1 < len && h[c + 1] < h[c]) c++;
        if (h[c] >= x) break;
        h[i] = h[c];
        i = c;
    }
    if (len) h[i] = x;
    return top;
}

static int merge_large(const lmio_encoder *e, const uint8_t *p, size_t n, lmio_u32vec *out) {
    if (n >= UINT32_MAX) return LMIO_ENOMEM; /* positions are 32-bit in the heap keys */
    /* one allocation: ids, rank, next, prev (uint32 each) and the heap (uint64) */
    size_t heap_cap = 3 * n;
    uint8_t *mem = malloc(n * 4 * sizeof(uint32_t) + heap_cap * sizeof(uint64_t));
    if (!mem) return LMIO_ENOMEM;
    uint64_t *heap = (uint64_t *)mem;
    uint32_t *ids = (uint32_t *)(heap + heap_cap), *rank = ids + n, *next = rank + n,
             *prev = next + n;
    size_t hn = 0;
    for (size_t i = 0; i < n; i++) {
        ids[i] = e->byte_id[p[i]];
        next[i] = (uint32_t)(i + 1);
        prev[i] = (uint32_t)(i - 1); /* wraps to UINT32_MAX for the first */
    }
    for (size_t i = 0; i + 1 < n; i++) {
        rank[i] = pair_rank(e, ids[i], ids[i + 1]);
        if (rank[i] != NO_RANK) heap[hn++] = ((uint64_t)rank[i] << 32) | i;
    }
    rank[n - 1] = NO_RANK;
    /* heapify */
    for (size_t i = hn / 2; i-- > 0;) {
        uint64_t x = heap[i];
        size_t j = i;
        for (;;) {
            size_t c = 2 * j + 1;
            if (c >= hn) break;
            if (c + 1 < hn && heap[c + 1] < heap[c]) c++;
            if (heap[c] >= x) break;
            heap[j] = heap[c];
            j = c;
        }
        heap[j] = x;
    }
    while (hn) {
        uint64_t top = heap_pop(heap, &hn);
        uint32_t r = (uint32_t)(top >> 32), i = (uint32_t)top;
        if (rank[i] != r) continue; /* stale (removed parts have NO_RANK) */
        uint32_t j = next[i];       /* merge part j into part i */
        ids[i] = r;
        next[i] = next[j];
        if (next[j] < n) prev[next[j]] = i;
        rank[j] = NO_RANK;
        ids[j] = NO_RANK;
        rank[i] = next[i] < n ? pair_rank(e, ids[i], ids[next[i]]) : NO_RANK;
        if (rank[i] != NO_RANK) heap_push(heap, &hn, ((uint64_t)rank[i] << 32) | i);
        if (prev[i] != UINT32_MAX) {
            uint32_t q = prev[i];
            rank[q] = pair_rank(e, ids[q], ids[i]);
            if (rank[q] != NO_RANK) heap_push(heap, &hn, ((uint64_t)rank[q] << 32) | q);
        }
    }
    int rc = LMIO_OK;
    for (size_t i = 0; i < n && !rc; i = next[i]) rc = lmio_u32vec_push(out, ids[i]);
    free(mem);
    return rc;
}

int lmio_encode_piece(const lmio_encoder *e, const uint8_t *p, size_t n, lmio_u32vec *out) {
    if (n == 0) return LMIO_OK;
    if (n == 1) return lmio_u32vec_push(out, e->byte_id[p[0]]);
    if (n <= e->max_token_len) {
        int64_t id = lmio_strmap_get(&e->vocab, &e->tokens, p, n, lmio_hash_bytes(p, n));
        if (id >= 0) return lmio_u32vec_push(out, (uint32_t)id);
    }
    return n <= SMALL_PIECE ? merge_small(e, p, n, out) : merge_large(e, p, n, out);
}

int lmio_encode_ordinary(const lmio_encoder *e, const uint8_t *s, size_t n, lmio_u32vec *out) {
    if (!e->scan) return LMIO_EINVAL;
    lmio_scanner scan = e->scan;
    for (size_t i = 0; i < n;) {
        size_t j = scan(s, n, i);
        int rc = lmio_encode_piece(e, s + i, j - i, out);
        if (rc) return rc;
        i = j;
    }
    return LMIO_OK;
}

int lmio_encode(const lmio_encoder *e, const uint8_t *s, size_t n, const uint8_t *allowed,
                lmio_u32vec *out) {
    if (!allowed) return lmio_encode_ordinary(e, s, n, out);
    lmio_special_search q;
    lmio_special_search_init(&q, &e->special, allowed);
    return lmio_encode_with(e, &q, s, n, out);
}

int lmio_encode_with(const lmio_encoder *e, const lmio_special_search *q, const uint8_t *s,
                     size_t n, lmio_u32vec *out) {
    if (!e->scan) return LMIO_EINVAL;
    if (!q->any) return lmio_encode_ordinary(e, s, n, out);
    for (size_t pos = 0; pos < n;) {
        size_t which = 0, at = lmio_special_find(q, s, n, pos, &which);
        int rc = lmio_encode_ordinary(e, s + pos, at - pos, out);
        if (rc) return rc;
        if (at == n) break;
        if ((rc = lmio_u32vec_push(out, e->special_ids[which]))) return rc;
        pos = at + lmio_special_len(&e->special, which);
    }
    return LMIO_OK;
}

const uint8_t *lmio_token_bytes(const lmio_encoder *e, uint32_t id, size_t *len) {
    if (id < e->tokens.n) return lmio_arena_str(&e->tokens, id, len);
    size_t lo = 0, hi = e->special.strings.n;
    while (lo < hi) { /* first special with this id */
        size_t mid = (lo + hi) / 2;
        if (e->special_sorted[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < e->special.strings.n && e->special_sorted[lo].id == id)
        return lmio_arena_str(&e->special.strings, e->special_sorted[lo].index, len);
    return NULL;
}

int lmio_decode(const lmio_encoder *e, const uint32_t *ids, size_t n, lmio_bytevec *out,
                uint32_t *bad) {
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const uint8_t *t = lmio_token_bytes(e, ids[i], &len);
        if (!t) {
            *bad = ids[i];
            return LMIO_EINVAL;
        }
        if (lmio_bytevec_append(out, t, len)) return LMIO_ENOMEM;
    }
    return LMIO_OK;
}
