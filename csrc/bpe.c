#include "bpe.h"

#include <stdio.h>

/* Pieces up to this many bytes merge with tiktoken's linear scan over stack arrays: O(n * m),
 * but n is small and the arrays stay in L1. Longer ones use a heap over a linked list:
 * O(n log n), so a megabyte of one letter or digits cannot go quadratic. The heap already wins
 * at ~18 bytes (typical CJK pieces: -12% instructions under callgrind vs the linear scan). */
#define SMALL_PIECE 16
#define STACK_PIECE 256 /* the heap path's arrays fit on the stack up to this length */
#define NO_RANK UINT32_MAX

/* Tokens of up to 16 bytes live inline in an open-addressing table: a lookup is one hash and
 * (usually) one cache line, with no pointer to follow. That is the hot path: most pieces of
 * English or code (~95%) are whole tokens. Longer tokens go to a byte-string map. */
#define INLINE_MAX 16

typedef struct {
    uint64_t lo, hi; /* the bytes, zero-padded (see inline_key) */
    uint32_t id;
    uint32_t len; /* 0: empty slot */
} vocab_slot;

typedef struct {
    uint32_t id;
    uint32_t index; /* position in listing order */
} special_id;

/* (left id, right id) -> id of left + right, for every split of every token into two tokens:
 * the merge loop's lookups hash two ids instead of building a key from bytes. */
typedef struct {
    uint64_t key; /* left << 32 | right; PAIR_EMPTY marks a free slot */
    uint32_t id;
    uint32_t unused;
} pair_slot;
#define PAIR_EMPTY UINT64_MAX

struct lmio_encoder {
    int pattern;
    lmio_scanner scan;
    lmio_arena tokens; /* token i's bytes */
    lmio_strmap vocab; /* bytes -> id, all tokens (construction, and tokens > INLINE_MAX) */
    vocab_slot *inline_tab; /* tokens of up to INLINE_MAX bytes */
    size_t inline_mask;
    pair_slot *pairs;
    uint32_t *byte_pairs; /* [a << 8 | b]: id of the 2-byte token ab, or NO_RANK (first round) */
    size_t pairs_mask;
    unsigned pairs_shift;
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
    free(e->inline_tab);
    free(e->pairs);
    free(e->byte_pairs);
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

/* The bytes p[0..n), 1 <= n <= 16, as two zero-padded little-endian words, read without
 * touching memory outside p[0..n). */
static inline void inline_key(const uint8_t *p, size_t n, uint64_t *lo, uint64_t *hi) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n >= 8) {
        *lo = lmio_load64(p);
        *hi = n > 8 ? lmio_load64(p + n - 8) >> (8 * (16 - n)) : 0;
    } else if (n >= 4) {
        *lo = lmio_load32(p) | (lmio_load32(p + n - 4) << (8 * (n - 4)));
        *hi = 0;
    } else {
        *lo = p[0] | ((uint64_t)p[n >> 1] << (8 * (n >> 1))) |
              ((uint64_t)p[n - 1] << (8 * (n - 1)));
        *hi = 0;
    }
#else
    uint8_t buf[16] = {0};
    memcpy(buf, p, n);
    *lo = *hi = 0;
    for (int i = 0; i < 8; i++) {
        *lo |= (uint64_t)buf[i] << (8 * i);
        *hi |= (uint64_t)buf[8 + i] << (8 * i);
    }
#endif
}

static inline size_t inline_hash(uint64_t lo, uint64_t hi, size_t n) {
    return (size_t)lmio_mum(lo ^ 0xa0761d6478bd642full, hi ^ 0xe7037ed1a0b428dbull ^ n);
}

static int build_inline(lmio_encoder *e) {
    size_t n_short = 0;
    for (size_t id = 0; id < e->tokens.n; id++)
        if (e->tokens.offs[id + 1] - e->tokens.offs[id] <= INLINE_MAX) n_short++;
    size_t cap = 16;
    while (cap * 3 / 4 < n_short + 1) cap *= 2; /* load <= 3/4 */
    e->inline_tab = calloc(cap, sizeof(vocab_slot));
    if (!e->inline_tab) return LMIO_ENOMEM;
    e->inline_mask = cap - 1;
    for (size_t id = 0; id < e->tokens.n; id++) {
        size_t len;
        const uint8_t *t = lmio_arena_str(&e->tokens, id, &len);
        if (len > INLINE_MAX) continue;
        uint64_t lo, hi;
        inline_key(t, len, &lo, &hi);
        size_t i = inline_hash(lo, hi, len) & e->inline_mask;
        while (e->inline_tab[i].len) i = (i + 1) & e->inline_mask;
        e->inline_tab[i] = (vocab_slot){lo, hi, (uint32_t)id, (uint32_t)len};
    }
    return LMIO_OK;
}

static inline size_t pair_slot_of(const lmio_encoder *e, uint64_t key) {
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> e->pairs_shift);
}

/* The id of left + right, or NO_RANK when that is not a token. */
static inline uint32_t pair_rank(const lmio_encoder *e, uint32_t left, uint32_t right) {
    uint64_t key = lmio_pair_key(left, right);
    for (size_t i = pair_slot_of(e, key);; i = (i + 1) & e->pairs_mask) {
        const pair_slot *slot = &e->pairs[i];
        if (slot->key == key) return slot->id;
        if (slot->key == PAIR_EMPTY) return NO_RANK;
    }
}

static uint32_t vocab_rank(const lmio_encoder *e, const uint8_t *p, size_t n);

static int build_pairs(lmio_encoder *e) {
    e->byte_pairs = malloc(65536 * sizeof(uint32_t));
    if (!e->byte_pairs) return LMIO_ENOMEM;
    for (size_t ab = 0; ab < 65536; ab++) {
        uint8_t two[2] = {(uint8_t)(ab >> 8), (uint8_t)ab};
        e->byte_pairs[ab] = vocab_rank(e, two, 2);
    }
    /* One pass of lookups collects the pairs (each split at most once), then the table is sized
     * for exactly that many: the lookups are most of the construction. */
    size_t splits = 0;
    for (size_t id = 0; id < e->tokens.n; id++)
        splits += e->tokens.offs[id + 1] - e->tokens.offs[id] - 1;
    pair_slot *found = malloc((splits ? splits : 1) * sizeof(pair_slot));
    if (!found) return LMIO_ENOMEM;
    size_t count = 0;
    for (size_t id = 0; id < e->tokens.n; id++) {
        size_t len;
        const uint8_t *t = lmio_arena_str(&e->tokens, id, &len);
        for (size_t k = 1; k < len; k++) {
            uint32_t l = vocab_rank(e, t, k), r;
            if (l == NO_RANK || (r = vocab_rank(e, t + k, len - k)) == NO_RANK) continue;
            found[count++] = (pair_slot){lmio_pair_key(l, r), (uint32_t)id, 0};
        }
    }
    size_t cap = 16;
    unsigned bits = 4;
    while (cap / 2 < count + 1) {
        cap *= 2;
        bits++;
    }
    e->pairs = malloc(cap * sizeof(pair_slot));
    if (!e->pairs) {
        free(found);
        return LMIO_ENOMEM;
    }
    for (size_t i = 0; i < cap; i++) e->pairs[i].key = PAIR_EMPTY;
    e->pairs_mask = cap - 1;
    e->pairs_shift = 64 - bits;
    for (size_t j = 0; j < count; j++) {
        size_t i = pair_slot_of(e, found[j].key);
        while (e->pairs[i].key != PAIR_EMPTY) i = (i + 1) & e->pairs_mask;
        e->pairs[i] = found[j];
    }
    free(found);
    return LMIO_OK;
}

static inline uint32_t vocab_rank(const lmio_encoder *e, const uint8_t *p, size_t n) {
    if (LMIO_LIKELY(n <= INLINE_MAX)) {
        uint64_t lo, hi;
        inline_key(p, n, &lo, &hi);
        for (size_t i = inline_hash(lo, hi, n) & e->inline_mask;; i = (i + 1) & e->inline_mask) {
            const vocab_slot *slot = &e->inline_tab[i];
            if (slot->lo == lo && slot->hi == hi && slot->len == n) return slot->id;
            if (!slot->len) return NO_RANK;
        }
    }
    if (n > e->max_token_len) return NO_RANK;
    int64_t id = lmio_strmap_get(&e->vocab, &e->tokens, p, n, lmio_hash_bytes(p, n));
    return id < 0 ? NO_RANK : (uint32_t)id;
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
    if (!rc) rc = build_inline(e);
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

/* tiktoken's _byte_pair_merge: the adjacent pair of parts whose concatenation has the lowest
 * rank merges first, the leftmost on ties. */
static __attribute__((noinline)) int merge_small(const lmio_encoder *e, const uint8_t *p,
                                                  size_t n, lmio_u32vec *out) {
    uint32_t rank[SMALL_PIECE], ids[SMALL_PIECE];
    for (size_t i = 0; i < n; i++) ids[i] = e->byte_id[p[i]];
    for (size_t i = 0; i + 1 < n; i++) rank[i] = e->byte_pairs[p[i] << 8 | p[i + 1]];
    rank[n - 1] = NO_RANK;
    size_t m = n; /* parts */
    while (m > 1) {
        uint32_t best = NO_RANK;
        size_t at = 0;
        for (size_t i = 0; i + 1 < m; i++)
            if (rank[i] < best) {
                best = rank[i];
                at = i;
            }
        if (best == NO_RANK) break;
        ids[at] = best; /* part at+1 joins part at */
        m--;
        for (size_t i = at + 1; i < m; i++) {
            rank[i] = rank[i + 1];
            ids[i] = ids[i + 1];
        }
        rank[m - 1] = NO_RANK;
        if (at > 0) rank[at - 1] = pair_rank(e, ids[at - 1], ids[at]);
        if (at + 1 < m) rank[at] = pair_rank(e, ids[at], ids[at + 1]);
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

static __attribute__((noinline)) int merge_large(const lmio_encoder *e, const uint8_t *p,
                                                  size_t n, lmio_u32vec *out) {
    if (n >= UINT32_MAX) return LMIO_ENOMEM; /* positions are 32-bit in the heap keys */
    /* parts start at byte positions; one allocation holds ids, rank, next and prev (uint32,
     * indexed by a part's start) and the heap (uint64: rank << 32 | start) */
    size_t heap_cap = 3 * n;
    uint64_t stack_mem[STACK_PIECE * 5];
    uint64_t *mem = n <= STACK_PIECE
                        ? stack_mem
                        : malloc(n * 4 * sizeof(uint32_t) + heap_cap * sizeof(uint64_t));
    if (!mem) return LMIO_ENOMEM;
    uint64_t *heap = mem;
    uint32_t *ids = (uint32_t *)(heap + heap_cap), *rank = ids + n, *next = rank + n,
             *prev = next + n;
    size_t hn = 0;
    for (size_t i = 0; i < n; i++) {
        ids[i] = e->byte_id[p[i]];
        next[i] = (uint32_t)(i + 1);
        prev[i] = (uint32_t)(i - 1); /* wraps to UINT32_MAX for the first */
    }
    for (size_t i = 0; i + 1 < n; i++) {
        rank[i] = e->byte_pairs[p[i] << 8 | p[i + 1]];
        if (rank[i] != NO_RANK) heap[hn++] = ((uint64_t)rank[i] << 32) | i;
    }
    rank[n - 1] = NO_RANK;
    for (size_t i = hn / 2; i-- > 0;) { /* heapify */
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
        /* stale if the part is gone or its pair changed: a part's rank only ever takes a value
         * once (its bytes, or its right neighbour's, only grow), so equal means current */
        if (rank[i] != r) continue;
        uint32_t j = next[i]; /* part j joins part i */
        ids[i] = r;
        next[i] = next[j];
        if (next[j] < n) prev[next[j]] = i;
        rank[j] = NO_RANK;
        rank[i] = next[i] < n ? pair_rank(e, ids[i], ids[next[i]]) : NO_RANK;
        if (rank[i] != NO_RANK) heap_push(heap, &hn, ((uint64_t)rank[i] << 32) | i);
        if (prev[i] != UINT32_MAX) {
            uint32_t q = prev[i];
            rank[q] = pair_rank(e, ids[q], ids[i]);
            if (rank[q] != NO_RANK) heap_push(heap, &hn, ((uint64_t)rank[q] << 32) | q);
        }
    }
    int rc = lmio_u32vec_reserve(out, out->len + n);
    for (size_t i = 0; i < n && !rc; i = next[i]) out->data[out->len++] = ids[i];
    if (mem != stack_mem) free(mem);
    return rc;
}

int lmio_encode_piece(const lmio_encoder *e, const uint8_t *p, size_t n, lmio_u32vec *out) {
    if (n == 0) return LMIO_OK;
    if (n == 1) return lmio_u32vec_push(out, e->byte_id[p[0]]);
    uint32_t id = vocab_rank(e, p, n);
    if (id != NO_RANK) return lmio_u32vec_push(out, id);
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
