/* Fuzz driver for the C core: `fuzz SECONDS [SEED_FILE...]`, run by `make fuzz` under ASan,
 * UBSan and LeakSanitizer. gcc has no libFuzzer, so this is its own driver: inputs are slices
 * of real text (the seed files), random bytes, random code points and mutations of those
 * (bit flips, cut UTF-8 sequences, long runs, splices); FUZZ_SEED=n replays a run.
 *
 * Each input goes through: the four scanners (pieces tile the input; cutting at safe split
 * points changes no piece); an encoder over a random vocabulary (every piece equals the slow
 * reference BPE in check.h; decode inverts encode, with and without special tokens; batch
 * encoding on 1-3 threads equals one by one); and word counting + training (merges are
 * well-formed, training is deterministic). Any failed check aborts; a leak fails the exit. */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "check.h"

#define MAX_INPUT 4096

typedef struct {
    uint8_t *data;
    size_t len;
} buf_t;

static buf_t *seeds;
static size_t n_seeds;

static const char *const builtin_seeds[] = {
    "Hello, world! It's 2026; we'll see.\n\n  Indented   text\r\n\ttabs",
    "def f(x):\n    return x ** 2  # square\n\n\nclass A:\n\tpass\n",
    "\xe4\xb8\xad\xe6\x96\x87\xe6\x96\x87\xe6\x9c\xac\xef\xbc\x8c\xe6\xa0\x87\xe7\x82\xb9\xe3\x80\x82",
    "emoji \xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 \xf0\x9f\x87\xab"
    "\xf0\x9f\x87\xb7 \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd",
    "don't DON'T 'll 'VE 're x'S '\xc5\xbft 123456789 \xd9\xa1\xd9\xa2\xd9\xa3",
    "e\xcc\x81 a\xcc\x88 \xe0\xa4\x95\xe0\xa4\xbf \xcc\x81x \xc2\xa0\xe3\x80\x80\x0b\x0c\xc2\x85",
    "HelloWorld XMLHttpRequest \xc3\x80\xc3\x89\xc3\x8e\xc3\xa9" "a \xc7\x85" "emal",
    /* JSON lines for the prepare pass: escapes, duplicates, nesting, bad lines */
    "{\"text\": \"line\\none\\t\\\"q\\\" \\u00e9\\ud83d\\ude00\", \"id\": 1}\n"
    "{\"a\": [1, 2.5e-3, {\"text\": null}], \"text\": \"x\", \"text\": \"y\"}\n\n"
    "{\"text\": \"\\ud800\"}\n{broken\n  {\"text\": \"  spaced \\r\\n\\n\\n\\n\\nend  \"}  \n",
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void load_seeds(int argc, char **argv) {
    size_t nb = sizeof(builtin_seeds) / sizeof(*builtin_seeds);
    seeds = calloc((size_t)argc + nb, sizeof(buf_t));
    CHECK(seeds);
    for (size_t k = 0; k < nb; k++) {
        size_t len = strlen(builtin_seeds[k]);
        seeds[n_seeds].data = malloc(len);
        memcpy(seeds[n_seeds].data, builtin_seeds[k], len);
        seeds[n_seeds++].len = len;
    }
    for (int a = 2; a < argc; a++) {
        FILE *f = fopen(argv[a], "rb");
        if (!f) continue;
        uint8_t *data = malloc(1 << 20);
        size_t len = fread(data, 1, 1 << 20, f);
        fclose(f);
        if (!len) {
            free(data);
            continue;
        }
        seeds[n_seeds].data = data;
        seeds[n_seeds++].len = len;
    }
}

static size_t put_utf8(uint8_t *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 63));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 63));
        o[2] = (uint8_t)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 63));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 63));
    o[3] = (uint8_t)(0x80 | (cp & 63));
    return 4;
}

static size_t make_input(rng_t *r, uint8_t *out) {
    static const uint32_t ranges[][2] = {
        {0x20, 0x7E},     {0x09, 0x0D},     {0xA0, 0x24F},    {0x300, 0x36F},   {0x370, 0x3FF},
        {0x600, 0x6FF},   {0x900, 0x97F},   {0x1680, 0x1680}, {0x2000, 0x206F}, {0x3000, 0x30FF},
        {0x4E00, 0x4EFF}, {0xAC00, 0xAC80}, {0x1F300, 0x1F6FF}, {0xD7FF, 0xE000}, {0x10FFF0, 0x10FFFF},
        {0x17F, 0x17F},   {0x27, 0x27},     {0x1C, 0x1F},
    };
    size_t len = 0, target = 1 + rng_below(r, rng_below(r, 8) ? 300 : MAX_INPUT - 8);
    switch (rng_below(r, 5)) {
    case 0: /* random bytes */
        for (; len < target; len++) out[len] = (uint8_t)rng_next(r);
        break;
    case 1: /* random code points from interesting ranges */
        while (len + 4 <= target) {
            const uint32_t *rg = ranges[rng_below(r, sizeof(ranges) / sizeof(*ranges))];
            uint32_t cp = rg[0] + (uint32_t)rng_below(r, rg[1] - rg[0] + 1);
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
            len += put_utf8(out + len, cp);
        }
        break;
    default: { /* a slice of a seed, maybe spliced with another */
        const buf_t *s = &seeds[rng_below(r, n_seeds)];
        size_t off = rng_below(r, s->len), n = s->len - off < target ? s->len - off : target;
        memcpy(out, s->data + off, n);
        len = n;
        if (rng_below(r, 3) == 0 && len < MAX_INPUT / 2) {
            const buf_t *t = &seeds[rng_below(r, n_seeds)];
            size_t off2 = rng_below(r, t->len), m = t->len - off2;
            if (m > MAX_INPUT / 2 - 1) m = MAX_INPUT / 2 - 1;
            memcpy(out + len, t->data + off2, m);
            len += m;
        }
    }
    }
    /* mutations */
    int mutations = (int)rng_below(r, 4);
    for (int k = 0; k < mutations && len; k++) {
        size_t at = rng_below(r, len);
        switch (rng_below(r, 4)) {
        case 0: out[at] ^= (uint8_t)(1u << rng_below(r, 8)); break;
        case 1: out[at] = (uint8_t)rng_next(r); break;
        case 2: { /* a run of one byte or one character */
            size_t run = rng_below(r, 200), clen = 1 + rng_below(r, 3);
            if (at + clen > len) clen = len - at;
            while (run-- && len + clen <= MAX_INPUT) {
                memmove(out + len, out + at, clen);
                len += clen;
            }
            break;
        }
        default: len = at; /* truncate (cuts sequences) */
        }
    }
    return len;
}

static void check_scanners(const uint8_t *s, size_t n) {
    for (int p = 0; p < LMIO_PATTERN_COUNT; p++) {
        lmio_scanner scan = lmio_scanner_for(p);
        size_t starts = 0;
        for (size_t i = 0; i < n; starts++) {
            size_t j = scan(s, n, i);
            CHECK(j > i && j <= n);
            i = j;
        }
        /* cutting at safe split points changes nothing */
        size_t cut = 0, from = 0, pieces = 0;
        while (cut < n) {
            size_t next = lmio_pretok_safe_split(s, n, from + 1);
            CHECK(next > cut && next <= n);
            for (size_t i = cut; i < next; pieces++) i = scan(s + cut, next - cut, i - cut) + cut;
            cut = from = next;
        }
        CHECK(pieces == starts);
    }
}

/* A random vocabulary: a permutation of the 256 bytes, then substrings of the input and
 * concatenations of earlier tokens (as training would make), no duplicates. */
typedef struct {
    const uint8_t *tok[512];
    size_t len[512];
    uint8_t store[512 * 24];
    size_t n, used;
} rvocab;

static int rvocab_has(const rvocab *v, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < v->n; i++)
        if (v->len[i] == n && !memcmp(v->tok[i], p, n)) return 1;
    return 0;
}

static void rvocab_add(rvocab *v, const uint8_t *p, size_t n) {
    if (!n || n > 24 || v->n >= 512 || v->used + n > sizeof(v->store) || rvocab_has(v, p, n))
        return;
    memcpy(v->store + v->used, p, n);
    v->tok[v->n] = v->store + v->used;
    v->len[v->n++] = n;
    v->used += n;
}

static void make_vocab(rng_t *r, rvocab *v, const uint8_t *s, size_t n) {
    v->n = v->used = 0;
    uint8_t perm[256];
    for (int i = 0; i < 256; i++) perm[i] = (uint8_t)i;
    for (int i = 255; i > 0; i--) {
        size_t j = rng_below(r, (size_t)i + 1);
        uint8_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int i = 0; i < 256; i++) rvocab_add(v, &perm[i], 1);
    size_t extra = rng_below(r, 250);
    for (size_t k = 0; k < extra; k++) {
        if (n > 1 && rng_below(r, 2)) {
            size_t off = rng_below(r, n - 1), len = 2 + rng_below(r, 10);
            if (off + len > n) len = n - off;
            rvocab_add(v, s + off, len);
        } else {
            uint8_t cat[48];
            size_t a = rng_below(r, v->n), b = rng_below(r, v->n);
            if (v->len[a] + v->len[b] > 24) continue;
            memcpy(cat, v->tok[a], v->len[a]);
            memcpy(cat + v->len[a], v->tok[b], v->len[b]);
            rvocab_add(v, cat, v->len[a] + v->len[b]);
        }
    }
}

static void check_encoder(rng_t *r, const uint8_t *s, size_t n) {
    static rvocab v;
    make_vocab(r, &v, s, n);
    int pattern = (int)rng_below(r, LMIO_PATTERN_COUNT + 1) - 1;
    /* special tokens: substrings of the input, ids above the vocabulary */
    const uint8_t *sp[3];
    size_t sp_len[3], n_sp = n > 4 ? rng_below(r, 4) : 0;
    uint32_t sp_id[3];
    for (size_t k = 0; k < n_sp; k++) {
        size_t off = rng_below(r, n - 2);
        sp[k] = s + off;
        sp_len[k] = 1 + rng_below(r, n - off < 6 ? n - off : 6);
        sp_id[k] = (uint32_t)(v.n + 10 * k);
    }
    lmio_encoder *e;
    char err[256];
    CHECK(lmio_encoder_new(v.tok, v.len, v.n, sp, sp_len, sp_id, n_sp, pattern, &e, err,
                           sizeof(err)) == 0);
    ref_vocab ref;
    ref_init(&ref, v.tok, v.len, v.n);
    /* pieces: random slices, as custom patterns send them */
    for (int k = 0; k < 4 && n; k++) {
        size_t off = rng_below(r, n), len = rng_below(r, n - off + 1);
        if (len > 600) len = 600; /* the reference is quadratic */
        if (rng_below(r, 2) == 0 && len > 40) len = 40;
        lmio_u32vec got = {0}, want = {0};
        CHECK(lmio_encode_piece(e, s + off, len, &got) == 0);
        ref_encode_piece(&ref, s + off, len, &want);
        CHECK(got.len == want.len);
        CHECK(!got.len || !memcmp(got.data, want.data, got.len * sizeof(uint32_t)));
        lmio_u32vec_free(&got);
        lmio_u32vec_free(&want);
    }
    if (pattern != LMIO_PATTERN_CUSTOM) {
        uint8_t allowed[3] = {1, (uint8_t)rng_below(r, 2), 1};
        lmio_u32vec ids = {0};
        lmio_bytevec back = {0};
        uint32_t bad;
        CHECK(lmio_encode(e, s, n, n_sp ? allowed : NULL, &ids) == 0);
        CHECK(lmio_decode(e, ids.data, ids.len, &back, &bad) == 0);
        CHECK(back.len == n && (!n || !memcmp(back.data, s, n)));
        /* batch: the input in a few documents, on 1-3 threads, equals one by one */
        const uint8_t *docs[3] = {s, s + n / 3, s + n / 2};
        size_t lens[3] = {n / 3, n - n / 3, n - n / 2};
        lmio_batch *b;
        int threads = 1 + (int)rng_below(r, 3);
        CHECK(lmio_encode_batch(e, docs, lens, 3, n_sp ? allowed : NULL, threads, &b) == 0);
        size_t total = lmio_batch_total(b);
        uint32_t *flat = malloc((total ? total : 1) * sizeof(uint32_t));
        int64_t offs[4];
        lmio_batch_copy(b, flat, offs);
        for (int d = 0; d < 3; d++) {
            lmio_u32vec one = {0};
            CHECK(lmio_encode(e, docs[d], lens[d], n_sp ? allowed : NULL, &one) == 0);
            CHECK((size_t)(offs[d + 1] - offs[d]) == one.len);
            CHECK(!one.len || !memcmp(flat + offs[d], one.data, one.len * sizeof(uint32_t)));
            lmio_u32vec_free(&one);
        }
        free(flat);
        lmio_batch_free(b);
        lmio_u32vec_free(&ids);
        lmio_bytevec_free(&back);
    }
    uint32_t junk[2] = {(uint32_t)rng_next(r), (uint32_t)v.n};
    lmio_bytevec back = {0};
    uint32_t bad;
    (void)lmio_decode(e, junk, 2, &back, &bad); /* unknown ids: an error, never a crash */
    lmio_bytevec_free(&back);
    ref_free(&ref);
    lmio_encoder_free(e);
}

static void check_training(rng_t *r, const uint8_t *s, size_t n) {
    int pattern = (int)rng_below(r, LMIO_PATTERN_COUNT);
    const uint8_t *sp = s;
    size_t sp_len = n > 3 ? 3 : n;
    lmio_wordcount *wc;
    char err[256];
    CHECK(lmio_wordcount_new(pattern, &sp, &sp_len, sp_len ? 1 : 0, &wc, err, sizeof(err)) == 0);
    const uint8_t *texts[2] = {s, s + n / 2};
    size_t lens[2] = {n / 2, n - n / 2};
    CHECK(lmio_wordcount_add_texts(wc, texts, lens, 2, 1 + (int)rng_below(r, 2)) == 0);
    const lmio_wordtable *t = lmio_wordcount_table(wc);
    uint8_t order[256];
    for (int i = 0; i < 256; i++) order[i] = (uint8_t)(i ^ 0x5A);
    size_t target = 256 + rng_below(r, 200);
    uint64_t minf = rng_below(r, 3);
    lmio_merge *m1, *m2;
    size_t n1, n2;
    CHECK(lmio_train_bpe(t, order, target, minf, NULL, NULL, 0, &m1, &n1, err, sizeof(err)) == 0);
    CHECK(lmio_train_bpe(t, order, target, minf, NULL, NULL, 0, &m2, &n2, err, sizeof(err)) == 0);
    CHECK(n1 == n2 && (!n1 || !memcmp(m1, m2, n1 * sizeof(lmio_merge))));
    size_t distinct = 256;
    for (size_t k = 0; k < n1; k++) {
        CHECK(m1[k].left < distinct && m1[k].right < distinct && m1[k].id <= distinct);
        if (m1[k].id == distinct) distinct++;
    }
    CHECK(distinct <= target || target < 256);
    free(m1);
    free(m2);
    lmio_wordcount_free(wc);
}

/* JSON string content for text (valid UTF-8): escapes as json.dumps would, some \u forms. */
static size_t json_escape(rng_t *r, const uint8_t *s, size_t n, uint8_t *o) {
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            o[w++] = '\\';
            o[w++] = c;
        } else if (c < 0x20 || (c < 0x80 && rng_below(r, 50) == 0)) {
            w += (size_t)sprintf((char *)o + w, "\\u%04X", c);
        } else {
            o[w++] = c;
        }
    }
    return w;
}

/* The C pass over lines: what it says of a block agrees with its own parts (UTF-8 validity,
 * digests, counts), its cleaning is idempotent, and a JSON line made from text gives the text
 * back. The Python tests hold all of it equal to the Python reference. */
static void check_prepare(rng_t *r, const uint8_t *s, size_t n) {
    static const unsigned step_sets[] = {0, 1, 2, 4, 5, 7};
    unsigned steps = step_sets[rng_below(r, 6)];
    lmio_prep_options opt = {
        .mode = (int)rng_below(r, 2), .field = (const uint8_t *)"text", .field_len = 4,
        .steps = steps, .digest = 1,
        .max_line_bytes = rng_below(r, 4) ? SIZE_MAX : rng_below(r, 200),
        .max_chars = rng_below(r, 4) ? SIZE_MAX : rng_below(r, 100),
    };
    lmio_prep_result res;
    CHECK(lmio_prepare_lines(s, n, &opt, &res) == 0);
    size_t valid = lmio_utf8_valid_prefix(s, n);
    CHECK(res.invalid_utf8 == (valid != n));
    size_t prev = 0, documents = 0;
    for (size_t i = 0; i < res.n; i++) {
        size_t end = (size_t)res.text_end.data[i];
        CHECK(end >= prev && end <= res.text.len);
        CHECK(res.line_start.data[i] <= res.line_end.data[i] &&
              (size_t)res.line_end.data[i] <= n);
        CHECK(i == 0 || res.line_start.data[i] > res.line_end.data[i - 1]);
        const uint8_t *t = res.text.data + prev;
        size_t len = end - prev;
        CHECK(lmio_utf8_valid_prefix(t, len) == len);
        if (res.status.data[i] == LMIO_DOC_CLEAN) {
            documents++;
            CHECK((size_t)res.chars.data[i] == lmio_utf8_count(t, len));
            uint8_t d[16];
            lmio_digest(t, len, d);
            CHECK(!memcmp(d, res.digests.data + 16 * i, 16));
            lmio_bytevec again = {0};
            lmio_clean_info info;
            CHECK(lmio_clean(t, len, steps, &again, &info) == 0);
            CHECK(again.len == len && (!len || !memcmp(again.data, t, len)));
            CHECK(info.control_chars == 0 && !info.whitespace);
            lmio_bytevec_free(&again);
        } else if (res.status.data[i] == LMIO_DOC_RAW) {
            documents++;
            CHECK(steps & LMIO_CLEAN_NFC);
        } else {
            CHECK(len == 0);
        }
        prev = end;
    }
    CHECK(res.documents == documents);
    lmio_prep_result_free(&res);

    /* a JSON object around (a valid prefix of) the input: the field comes back as it was */
    size_t m = valid < 4000 ? valid : 4000;
    while (m && memchr(s, '\n', m)) m = (size_t)((const uint8_t *)memchr(s, '\n', m) - s);
    static uint8_t line[6 * 4000 + 64];
    size_t w = (size_t)sprintf((char *)line, "{\"a\": [1, {\"text\": 0}], \"text\": \"");
    w += json_escape(r, s, m, line + w);
    w += (size_t)sprintf((char *)line + w, "\", \"z\": -1.5e+3}");
    const uint8_t *value;
    size_t vlen;
    CHECK(lmio_jsonl_field(line, w, (const uint8_t *)"text", 4, &value, &vlen) == LMIO_JSONL_FOUND);
    lmio_bytevec out = {0}, plain = {0}, fused = {0};
    CHECK(lmio_json_unescape(value, vlen, &out) == 0);
    CHECK(out.len == m && (!m || !memcmp(out.data, s, m)));
    /* cleaning the JSON body in one pass equals unescaping, then cleaning */
    lmio_clean_info a_info, b_info;
    int a_rc = lmio_clean(s, m, steps, &plain, &a_info);
    int b_rc = lmio_clean_json(value, vlen, steps, &fused, &b_info);
    CHECK(a_rc == b_rc && plain.len == fused.len && (!plain.len || !memcmp(plain.data, fused.data, plain.len)));
    if (a_rc == 0)
        CHECK(a_info.chars == b_info.chars && a_info.raw_chars == b_info.raw_chars &&
              a_info.control_chars == b_info.control_chars && a_info.whitespace == b_info.whitespace);
    lmio_bytevec_free(&out);
    lmio_bytevec_free(&plain);
    lmio_bytevec_free(&fused);

    /* the digest, streamed in random pieces */
    lmio_digest_state st;
    lmio_digest_init(&st);
    for (size_t i = 0; i < n;) {
        size_t k = 1 + rng_below(r, 300);
        if (k > n - i) k = n - i;
        lmio_digest_update(&st, s + i, k);
        i += k;
    }
    uint8_t a[16], b[16];
    lmio_digest_final(&st, a);
    lmio_digest(s, n, b);
    CHECK(!memcmp(a, b, 16));
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SECONDS [SEED_FILE...]\n", argv[0]);
        return 2;
    }
    double seconds = atof(argv[1]), start = now();
    const char *env = getenv("FUZZ_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
    load_seeds(argc, argv);
    printf("fuzz: %.0f s, %zu seeds, FUZZ_SEED=%llu\n", seconds, n_seeds, (unsigned long long)seed);
    fflush(stdout);
    rng_t r = {seed * 2654435761u + 1};
    static uint8_t input[MAX_INPUT + 8];
    size_t iterations = 0;
    while (now() - start < seconds) {
        for (int k = 0; k < 20; k++, iterations++) {
            size_t n = make_input(&r, input);
            check_scanners(input, n);
            check_encoder(&r, input, n);
            check_prepare(&r, input, n);
            if (k % 4 == 0) check_training(&r, input, n);
        }
    }
    for (size_t k = 0; k < n_seeds; k++) free(seeds[k].data);
    free(seeds);
    printf("fuzz: %zu inputs, no failure\n", iterations);
    return 0;
}
