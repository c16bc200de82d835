/* C-level unit checks of the core, run under AddressSanitizer, UBSan and LeakSanitizer by
 * `make asan`. The Python tests compare against tiktoken and HF; these pin the C API itself:
 * edge cases, invariants, error paths, 64-bit counts, and the cleanup of every allocation. */
#include "check.h"

static const char *split(int pattern, const char *text, char *buf, size_t size) {
    /* pieces joined with '|' */
    const uint8_t *s = (const uint8_t *)text;
    size_t n = strlen(text), o = 0;
    lmio_scanner scan = lmio_scanner_for(pattern);
    for (size_t i = 0; i < n;) {
        size_t j = scan(s, n, i);
        CHECK(j > i && j <= n);
        if (i) buf[o++] = '|';
        CHECK(o + (j - i) + 1 < size);
        memcpy(buf + o, s + i, j - i);
        o += j - i;
        i = j;
    }
    buf[o] = 0;
    return buf;
}

#define EXPECT_SPLIT(pattern, text, expected)                                             \
    do {                                                                                  \
        char buf_[512];                                                                   \
        const char *got_ = split(pattern, text, buf_, sizeof(buf_));                      \
        if (strcmp(got_, expected)) {                                                     \
            fprintf(stderr, "pattern %d: split(\"%s\") = \"%s\", expected \"%s\"\n", pattern, \
                    text, got_, expected);                                                \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

static void test_utf8(void) {
    uint32_t cp;
    CHECK(lmio_utf8_decode((const uint8_t *)"A", 1, &cp) == 1 && cp == 'A');
    CHECK(lmio_utf8_decode((const uint8_t *)"\xc3\xa9", 2, &cp) == 2 && cp == 0xE9);
    CHECK(lmio_utf8_decode((const uint8_t *)"\xe4\xb8\xad", 3, &cp) == 3 && cp == 0x4E2D);
    CHECK(lmio_utf8_decode((const uint8_t *)"\xf0\x9f\x98\x80", 4, &cp) == 4 && cp == 0x1F600);
    /* invalid: lone continuation, overlong, surrogate, above U+10FFFF, truncated */
    const char *bad[] = {"\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe4\xb8", "\xff"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(*bad); k++) {
        CHECK(lmio_utf8_decode((const uint8_t *)bad[k], strlen(bad[k]), &cp) == 1);
        CHECK(cp == LMIO_UTF8_INVALID);
    }
    CHECK(lmio_uc_flags(LMIO_UTF8_INVALID) == 0);
    CHECK(lmio_uc_flags('a') == (LMIO_UC_L | LMIO_UC_W));
    CHECK(lmio_uc_flags('A') == (LMIO_UC_L | LMIO_UC_U));
    CHECK(lmio_uc_flags(0x4E2D) == (LMIO_UC_L | LMIO_UC_U | LMIO_UC_W)); /* Lo */
    CHECK(lmio_uc_flags(0x0301) == (LMIO_UC_U | LMIO_UC_W));             /* Mn: not a letter */
    CHECK(lmio_uc_flags(0x0663) == LMIO_UC_N);
    CHECK(lmio_uc_flags(0x3000) == LMIO_UC_S && lmio_uc_flags(0x85) == LMIO_UC_S);
    CHECK(lmio_uc_flags(0x1C) == 0 && lmio_uc_flags(0x200B) == 0);
}

static void test_scanners(void) {
    EXPECT_SPLIT(0, "Hello world  it's   ok\n\n", "Hello| world| | it|'s|  | ok|\n\n");
    EXPECT_SPLIT(0, "x'S 123  4", "x|'|S| 123| | 4");
    EXPECT_SPLIT(1, "It'S   1234567!!\n\nx", "It|'S|  | |123|456|7|!!\n\n|x");
    EXPECT_SPLIT(1, "a \n  b  ", "a| \n| | b|  ");
    EXPECT_SPLIT(3, "a \n  b\n  ", "a| \n| | b|\n|  ");
    EXPECT_SPLIT(2, "HelloWorld XMLHttp don't", "Hello|World| XMLHttp| don't");
    EXPECT_SPLIT(2, "a/\n/b", "a|/\n/|b");
    EXPECT_SPLIT(1, "\xe4\xb8\xad\xe6\x96\x87\xef\xbc\x8c\xe5\xa5\xbd",
                 "\xe4\xb8\xad\xe6\x96\x87|\xef\xbc\x8c\xe5\xa5\xbd");
    EXPECT_SPLIT(1, "'\xc5\xbft", "'\xc5\xbf|t"); /* 'ſ folds to 's */
    /* invalid UTF-8 is punctuation, one byte at a time */
    EXPECT_SPLIT(1, "a\xff\xfe b", "a|\xff\xfe| b");
    CHECK(lmio_scanner_for(-1) == NULL && lmio_scanner_for(4) == NULL);
}

/* Splitting at lmio_pretok_safe_split points changes no piece. */
static void test_safe_split(void) {
    const char *text = "Intro  \nAlpha beta\n\nGamma   \n  delta\nEps\xc3\xa9\n\xe4\xb8\xad"
                       "\xe6\x96\x87\nZ!\nw";
    const uint8_t *s = (const uint8_t *)text;
    size_t n = strlen(text);
    for (int pattern = 0; pattern < LMIO_PATTERN_COUNT; pattern++) {
        lmio_scanner scan = lmio_scanner_for(pattern);
        size_t whole[128], nw = 0;
        for (size_t i = 0; i < n; i = scan(s, n, i)) whole[nw++] = i;
        size_t parts[128], np = 0, start = 0;
        while (start < n) {
            size_t end = lmio_pretok_safe_split(s, n, start + 1);
            CHECK(end > start && end <= n);
            for (size_t i = start; i < end; i = scan(s + start, end - start, i - start) + start)
                parts[np++] = i;
            start = end;
        }
        CHECK(np == nw && memcmp(whole, parts, nw * sizeof(size_t)) == 0);
    }
    CHECK(lmio_pretok_safe_split((const uint8_t *)"ab", 2, 0) == 2);
}

static void test_tables(void) {
    lmio_u64map m;
    CHECK(lmio_u64map_init(&m, 4) == 0);
    for (uint32_t i = 0; i < 5000; i++) CHECK(lmio_u64map_put(&m, lmio_pair_key(i, i * 7), i) == 0);
    for (uint32_t i = 0; i < 5000; i++) CHECK(*lmio_u64map_get(&m, lmio_pair_key(i, i * 7)) == i);
    CHECK(lmio_u64map_get(&m, lmio_pair_key(1, 1)) == NULL);
    CHECK(lmio_u64map_put(&m, lmio_pair_key(3, 21), 99) == 0 && *lmio_u64map_get(&m, 3ull << 32 | 21) == 99);
    CHECK(m.count == 5000);
    lmio_u64map_free(&m);

    lmio_arena a = {0};
    lmio_strmap sm;
    CHECK(lmio_strmap_init(&sm, 1) == 0);
    char word[32];
    for (int i = 0; i < 3000; i++) {
        int len = snprintf(word, sizeof(word), "w%dxyz%d", i, i * 31);
        CHECK(lmio_arena_push(&a, word, (size_t)len) == 0);
        CHECK(lmio_strmap_put(&sm, &a, (uint32_t)i, lmio_hash_bytes((uint8_t *)word, (size_t)len)) == 0);
    }
    for (int i = 0; i < 3000; i++) {
        int len = snprintf(word, sizeof(word), "w%dxyz%d", i, i * 31);
        CHECK(lmio_strmap_get(&sm, &a, (uint8_t *)word, (size_t)len,
                              lmio_hash_bytes((uint8_t *)word, (size_t)len)) == i);
    }
    CHECK(lmio_strmap_get(&sm, &a, (const uint8_t *)"nope", 4, lmio_hash_bytes((const uint8_t *)"nope", 4)) == -1);
    lmio_strmap_free(&sm);
    lmio_arena_free(&a);
    /* the hash reads only inside its input: every length up to 40 on a malloc'd exact buffer */
    for (size_t n = 0; n <= 40; n++) {
        uint8_t *p = malloc(n ? n : 1);
        memset(p, 'q', n);
        (void)lmio_hash_bytes(p, n);
        free(p);
    }
}

/* A vocabulary: 256 bytes (in a scrambled order) plus the given multi-byte tokens. */
typedef struct {
    const uint8_t *tok[1024];
    size_t len[1024];
    uint8_t bytes[256];
    size_t n;
} vocab;

static void vocab_init(vocab *v, const char *const *extra, size_t n_extra) {
    for (int i = 0; i < 256; i++) v->bytes[i] = (uint8_t)((i * 167 + 13) & 255); /* a permutation */
    for (int i = 0; i < 256; i++) {
        v->tok[i] = &v->bytes[i];
        v->len[i] = 1;
    }
    v->n = 256;
    for (size_t k = 0; k < n_extra; k++) {
        v->tok[v->n] = (const uint8_t *)extra[k];
        v->len[v->n++] = strlen(extra[k]);
    }
}

static void test_encoder(void) {
    const char *extra[] = {"ab", "abc", "bc", "aa", "aaaa", " a", " ab", "\xe4\xb8", "\xe4\xb8\xad",
                           "cd", "abcd", "ll", "he", "hell", "hello", " hello"};
    vocab v;
    vocab_init(&v, extra, sizeof(extra) / sizeof(*extra));
    const uint8_t *sp[] = {(const uint8_t *)"<|eot|>", (const uint8_t *)"<|e"};
    size_t sp_len[] = {7, 3};
    uint32_t sp_id[] = {1000, 1001};
    lmio_encoder *e;
    char err[256];
    CHECK(lmio_encoder_new(v.tok, v.len, v.n, sp, sp_len, sp_id, 2, LMIO_PATTERN_GPT4, &e, err,
                           sizeof(err)) == 0);
    CHECK(lmio_encoder_n_vocab(e) == v.n);
    ref_vocab ref;
    ref_init(&ref, v.tok, v.len, v.n);
    const char *pieces[] = {"abcd", "aaaaaaaaa", "abcabcabcab", " hello", "hellohello", "x",
                            "\xe4\xb8\xad\xe4\xb8\xad", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                            "abcdabcdabcdabcdabcdabcdabcdabcdabcdabcd", ""};
    for (size_t k = 0; k < sizeof(pieces) / sizeof(*pieces); k++) {
        lmio_u32vec got = {0}, want = {0};
        const uint8_t *p = (const uint8_t *)pieces[k];
        size_t n = strlen(pieces[k]);
        CHECK(lmio_encode_piece(e, p, n, &got) == 0);
        ref_encode_piece(&ref, p, n, &want);
        CHECK(got.len == want.len && (!got.len || !memcmp(got.data, want.data, got.len * 4)));
        lmio_bytevec back = {0};
        uint32_t bad;
        CHECK(lmio_decode(e, got.data, got.len, &back, &bad) == 0);
        CHECK(back.len == n && (!n || !memcmp(back.data, p, n)));
        lmio_bytevec_free(&back);
        lmio_u32vec_free(&got);
        lmio_u32vec_free(&want);
    }
    /* specials: allowed mask, leftmost, first listed at one start */
    const char *text = "ab<|eot|>cd<|e";
    uint8_t allowed[2] = {1, 1};
    lmio_u32vec out = {0};
    CHECK(lmio_encode(e, (const uint8_t *)text, strlen(text), allowed, &out) == 0);
    CHECK(out.len == 4 && out.data[1] == 1000 && out.data[3] == 1001);
    out.len = 0;
    allowed[0] = 0;
    CHECK(lmio_encode(e, (const uint8_t *)text, strlen(text), allowed, &out) == 0);
    CHECK(out.data[1] == 1001); /* "<|e" inside "<|eot|>" */
    out.len = 0;
    uint32_t ids[] = {1, 1000, 5000};
    lmio_bytevec back = {0};
    uint32_t bad = 0;
    CHECK(lmio_decode(e, ids, 3, &back, &bad) == LMIO_EINVAL && bad == 5000);
    size_t len;
    CHECK(lmio_token_bytes(e, 1001, &len) && len == 3);
    CHECK(lmio_token_bytes(e, 999, &len) == NULL);
    lmio_bytevec_free(&back);
    lmio_u32vec_free(&out);
    ref_free(&ref);
    lmio_encoder_free(e);

    /* construction errors leave nothing behind */
    CHECK(lmio_encoder_new(v.tok + 1, v.len + 1, v.n - 1, NULL, NULL, NULL, 0, 0, &e, err,
                           sizeof(err)) == LMIO_EINVAL && e == NULL && strstr(err, "single byte"));
    v.tok[v.n] = (const uint8_t *)"ab";
    v.len[v.n] = 2;
    CHECK(lmio_encoder_new(v.tok, v.len, v.n + 1, NULL, NULL, NULL, 0, 0, &e, err, sizeof(err)) ==
              LMIO_EINVAL &&
          strstr(err, "same bytes"));
    uint32_t low_id = 5;
    CHECK(lmio_encoder_new(v.tok, v.len, v.n, sp, sp_len, &low_id, 1, 0, &e, err, sizeof(err)) ==
          LMIO_EINVAL);
    size_t zero = 0;
    CHECK(lmio_encoder_new(v.tok, v.len, v.n, sp, &zero, sp_id, 1, 0, &e, err, sizeof(err)) ==
          LMIO_EINVAL);
    CHECK(lmio_encoder_new(v.tok, v.len, v.n, NULL, NULL, NULL, 0, 9, &e, err, sizeof(err)) ==
          LMIO_EINVAL);
    CHECK(lmio_encoder_new(v.tok, v.len, v.n, NULL, NULL, NULL, 0, -1, &e, err, sizeof(err)) == 0);
    CHECK(lmio_encode_ordinary(e, (const uint8_t *)"x", 1, &out) == LMIO_EINVAL);
    lmio_batch *b;
    const uint8_t *one = (const uint8_t *)"x";
    size_t one_len = 1;
    CHECK(lmio_encode_batch(e, &one, &one_len, 1, NULL, 2, &b) == LMIO_EINVAL);
    lmio_encoder_free(e);
    lmio_u32vec_free(&out);
}

static void test_batch(void) {
    const char *extra[] = {"th", "the", " the", "he", "in", " in", "an", "and", " and"};
    vocab v;
    vocab_init(&v, extra, sizeof(extra) / sizeof(*extra));
    lmio_encoder *e;
    CHECK(lmio_encoder_new(v.tok, v.len, v.n, NULL, NULL, NULL, 0, 1, &e, NULL, 0) == 0);
    /* a long document (cut at safe points) and short ones */
    size_t big = 5u << 20;
    uint8_t *doc = malloc(big);
    const char *line = "the cat and the hat\nIn the end and in the beginning   \n";
    for (size_t i = 0; i < big; i++) doc[i] = (uint8_t)line[i % strlen(line)];
    const uint8_t *texts[] = {doc, (const uint8_t *)"", (const uint8_t *)"and the", doc + 17};
    size_t lens[] = {big, 0, 7, 100000};
    for (int threads = 1; threads <= 3; threads++) {
        lmio_batch *b;
        CHECK(lmio_encode_batch(e, texts, lens, 4, NULL, threads, &b) == 0);
        size_t total = lmio_batch_total(b);
        uint32_t *tokens = malloc((total ? total : 1) * sizeof(uint32_t));
        int64_t offsets[5];
        lmio_batch_copy(b, tokens, offsets);
        CHECK(offsets[0] == 0 && (size_t)offsets[4] == total);
        for (int d = 0; d < 4; d++) {
            lmio_u32vec one = {0};
            CHECK(lmio_encode_ordinary(e, texts[d], lens[d], &one) == 0);
            CHECK((size_t)(offsets[d + 1] - offsets[d]) == one.len);
            CHECK(!one.len || !memcmp(tokens + offsets[d], one.data, one.len * 4));
            lmio_u32vec_free(&one);
        }
        free(tokens);
        lmio_batch_free(b);
    }
    lmio_batch *b;
    CHECK(lmio_encode_batch(e, NULL, NULL, 0, NULL, 4, &b) == 0 && lmio_batch_total(b) == 0);
    lmio_batch_free(b);
    free(doc);
    lmio_encoder_free(e);
}

static int count_progress(void *ctx, size_t n) {
    (void)n;
    return ++*(int *)ctx >= 2; /* stop at the second report */
}

static void test_wordcount_and_train(void) {
    const uint8_t *sp[] = {(const uint8_t *)"<s>"};
    size_t sp_len[] = {3};
    lmio_wordcount *wc;
    char err[256];
    CHECK(lmio_wordcount_new(0, sp, sp_len, 1, &wc, err, sizeof(err)) == 0);
    const uint8_t *texts[] = {(const uint8_t *)"low lower<s>lowest low", (const uint8_t *)"<s><s>"};
    size_t lens[] = {22, 6};
    CHECK(lmio_wordcount_add_texts(wc, texts, lens, 2, 2) == 0);
    const lmio_wordtable *t = lmio_wordcount_table(wc);
    CHECK(t->words.n == 4 && t->total == 4); /* low, " lower", "lowest", " low" */
    uint8_t order[256];
    for (int i = 0; i < 256; i++) order[i] = (uint8_t)i;
    lmio_merge *merges;
    size_t n;
    CHECK(lmio_train_bpe(t, order, 300, 0, NULL, NULL, 0, &merges, &n, err, sizeof(err)) == 0);
    CHECK(n > 0 && merges[0].left == 'l' && merges[0].right == 'o' && merges[0].id == 256);
    free(merges);
    int calls = 0;
    CHECK(lmio_train_bpe(t, order, 300, 0, count_progress, &calls, 1, &merges, &n, err,
                         sizeof(err)) == LMIO_ECALLBACK &&
          calls == 2);
    order[1] = 0;
    CHECK(lmio_train_bpe(t, order, 300, 0, NULL, NULL, 0, &merges, &n, err, sizeof(err)) ==
          LMIO_EINVAL);
    lmio_wordcount_free(wc);

    /* 64-bit counts: HF's i32 counts wrap past 2^31 and would order these wrongly */
    lmio_wordtable big = {0};
    CHECK(lmio_wordtable_add(&big, (const uint8_t *)"ab", 2, lmio_hash_bytes((const uint8_t *)"ab", 2),
                             3000000000ull) == 0);
    CHECK(lmio_wordtable_add(&big, (const uint8_t *)"cd", 2, lmio_hash_bytes((const uint8_t *)"cd", 2),
                             2000000000ull) == 0);
    CHECK(lmio_wordtable_add(&big, (const uint8_t *)"cdcd", 4,
                             lmio_hash_bytes((const uint8_t *)"cdcd", 4), 200000000ull) == 0);
    order[1] = 1;
    CHECK(lmio_train_bpe(&big, order, 1000, 0, NULL, NULL, 0, &merges, &n, err, sizeof(err)) == 0);
    CHECK(n == 3);
    CHECK(merges[0].left == 'a' && merges[0].right == 'b'); /* 3e9 */
    CHECK(merges[1].left == 'c' && merges[1].right == 'd'); /* 2.4e9 */
    CHECK(merges[2].left == 257 && merges[2].right == 257); /* cd cd: 2e8 */
    free(merges);
    lmio_wordtable_free(&big);

    /* custom pattern: pieces only */
    CHECK(lmio_wordcount_new(-1, NULL, NULL, 0, &wc, err, sizeof(err)) == 0);
    CHECK(lmio_wordcount_add_texts(wc, texts, lens, 1, 1) == LMIO_EINVAL);
    const uint8_t *pieces[] = {(const uint8_t *)"x", (const uint8_t *)""};
    size_t plens[] = {1, 0};
    CHECK(lmio_wordcount_add_pieces(wc, pieces, plens, 2) == 0);
    CHECK(lmio_wordcount_table(wc)->words.n == 1);
    lmio_wordcount_free(wc);
    CHECK(lmio_wordcount_new(5, NULL, NULL, 0, &wc, err, sizeof(err)) == LMIO_EINVAL);
}

static void hex16(const uint8_t *d, char *out) {
    for (int i = 0; i < 16; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_digest(void) {
    /* XXH3-128 test values (Python's xxhash.xxh3_128_hexdigest) */
    static const struct {
        size_t n;
        int kind; /* 0: "hello world"-like literal, 1: i % 256, 2: i*7 % 256, 3: i*13 % 251 */
        const char *hex;
    } cases[] = {
        {0, 0, "99aa06d3014798d86001c324468d497f"},   {1, 0, "a96faf705af16834e6c632b61e964e1f"},
        {11, 0, "df8d09e93f874900a99b8775cc15b6c7"},  {100, 1, "da95ef16fd9566f329b20ba5f03ec01e"},
        {300, 2, "366a6c90343f6288e2558afb5598da2a"}, {2000, 3, "26e3e9c65de08c652f541899e46e6bc9"},
    };
    uint8_t data[2000], out[16], again[16];
    char hex[33];
    for (size_t k = 0; k < sizeof(cases) / sizeof(*cases); k++) {
        size_t n = cases[k].n;
        for (size_t i = 0; i < n; i++) {
            int kind = cases[k].kind;
            data[i] = kind == 0   ? (uint8_t)(n == 1 ? 'a' : "hello world"[i])
                      : kind == 1 ? (uint8_t)i
                      : kind == 2 ? (uint8_t)(i * 7 % 256)
                                  : (uint8_t)(i * 13 % 251);
        }
        lmio_digest(data, n, out);
        hex16(out, hex);
        if (strcmp(hex, cases[k].hex)) {
            fprintf(stderr, "digest of %zu bytes: %s, expected %s\n", n, hex, cases[k].hex);
            abort();
        }
        for (size_t step = 1; step < 300; step += 37) { /* streaming, in pieces of any size */
            lmio_digest_state st;
            lmio_digest_init(&st);
            for (size_t i = 0; i < n; i += step)
                lmio_digest_update(&st, data + i, n - i < step ? n - i : step);
            lmio_digest_final(&st, again);
            CHECK(!memcmp(out, again, 16));
        }
    }
}

static void test_digest_set(void) {
    /* digests 0..4999, each twice in a run, in runs that grow the table past its first size;
     * an all-zero digest is a digest like any other */
    lmio_digest_set set;
    lmio_digest_set_init(&set);
    enum { N = 5000, RUN = 700 };
    uint8_t digests[2 * RUN][16], fresh[2 * RUN];
    for (size_t start = 0; start < N; start += RUN) {
        size_t n = start + RUN <= N ? RUN : N - start;
        for (size_t i = 0; i < n; i++) {
            memset(digests[2 * i], 0, 16);
            memcpy(digests[2 * i], &(uint32_t){(uint32_t)(start + i)}, 4);
            memcpy(digests[2 * i + 1], digests[2 * i], 16);
        }
        CHECK(lmio_digest_set_add(&set, digests[0], 2 * n, fresh) == LMIO_OK);
        for (size_t i = 0; i < n; i++) CHECK(fresh[2 * i] == 1 && fresh[2 * i + 1] == 0);
        CHECK(lmio_digest_set_add(&set, digests[0], 2 * n, fresh) == LMIO_OK);
        for (size_t i = 0; i < 2 * n; i++) CHECK(fresh[i] == 0);
    }
    CHECK(set.n == N && set.cap >= 2 * N);
    lmio_digest_set_free(&set);
    CHECK(lmio_digest_set_add(&set, digests[0], 0, fresh) == LMIO_OK && set.n == 0);
    lmio_digest_set_free(&set);
}

static int clean_is(const char *in, unsigned steps, const char *expected, size_t control,
                    int whitespace) {
    lmio_bytevec out = {0};
    lmio_clean_info info;
    int rc = lmio_clean((const uint8_t *)in, strlen(in), steps, &out, &info);
    int ok = rc == LMIO_OK && out.len == strlen(expected) &&
             !memcmp(out.data ? (const char *)out.data : "", expected, out.len) &&
             info.control_chars == control && info.whitespace == whitespace &&
             info.chars == lmio_utf8_count(out.data, out.len);
    lmio_bytevec_free(&out);
    return ok;
}

/* The field as read and unescaped (NULL: Python's to read), and cleaned by lmio_clean_json
 * with no step: the same text. */
static int field_is(const char *line, const char *expected) {
    const uint8_t *value;
    size_t len;
    int rc = lmio_jsonl_field((const uint8_t *)line, strlen(line), (const uint8_t *)"text", 4,
                              &value, &len);
    if (rc != LMIO_JSONL_FOUND) return !expected && rc == LMIO_JSONL_PYTHON;
    lmio_bytevec out = {0}, fused = {0};
    lmio_clean_info info;
    int unescaped = lmio_json_unescape(value, len, &out);
    int cleaned = lmio_clean_json(value, len, 0, &fused, &info);
    int ok = expected ? !unescaped && !cleaned && out.len == strlen(expected) &&
                            !memcmp(out.data ? (const char *)out.data : "", expected, out.len) &&
                            fused.len == out.len && (!out.len || !memcmp(fused.data, out.data, out.len))
                      : unescaped == 1 && cleaned == LMIO_CLEAN_ESCAPE;
    lmio_bytevec_free(&out);
    lmio_bytevec_free(&fused);
    return ok;
}

static void test_prepare_pass(void) {
    const unsigned all = LMIO_CLEAN_CONTROL | LMIO_CLEAN_NFC | LMIO_CLEAN_WHITESPACE;
    /* cleaning, as lmio.text.clean: the docstring's example goes to Python for NFC */
    lmio_bytevec out = {0};
    lmio_clean_info info;
    const char *cafe = "  Cafe\xcc\x81\x07 menu\r\n\n\n\n\nend  ";
    CHECK(lmio_clean((const uint8_t *)cafe, strlen(cafe), all, &out, &info) == LMIO_CLEAN_PYTHON);
    CHECK(out.len == 0);
    lmio_bytevec_free(&out);
    CHECK(clean_is("  Caf\xc3\xa9\x07 menu\r\n\n\n\n\nend  ", all, "Caf\xc3\xa9 menu\n\n\nend", 1, 1));
    CHECK(clean_is("a  \nb\t\r\nc\rd", all, "a\nb\nc\nd", 0, 1));
    CHECK(clean_is("a\n \n \n \n\nb", all, "a\n\n\nb", 0, 1));
    CHECK(clean_is("import os\n\n\ndef f(x):\n    return 1", all,
                   "import os\n\n\ndef f(x):\n    return 1", 0, 0));
    CHECK(clean_is("\xe3\x80\x80x\xc2\x85\r\x07\n", all, "x", 2, 1)); /* U+3000, NEL, BEL */
    CHECK(clean_is(" x\x0c ", LMIO_CLEAN_WHITESPACE, "x", 0, 1));
    CHECK(clean_is(" x\x0c ", LMIO_CLEAN_CONTROL, " x ", 1, 0));
    CHECK(clean_is(" x\x0c ", 0, " x\x0c ", 0, 0));
    CHECK(clean_is("", all, "", 0, 0));
    CHECK(clean_is(" \t\n", all, "", 0, 1));

    /* JSON fields, as json.loads(line)["text"] */
    CHECK(field_is("{\"text\": \"a\\nb\\u00e9\\ud83d\\ude00\"}", "a\nb\xc3\xa9\xf0\x9f\x98\x80"));
    CHECK(field_is("{\"text\": \"a\", \"text\": \"b\"}", "b"));
    CHECK(field_is("{\"te\\u0078t\": \"k\", \"x\": [1, {\"text\": 2}, -0.5e3, null]}", "k"));
    CHECK(field_is("{\"text\": \"a\"}\xe3\x80\x80", "a"));
    CHECK(field_is(" {\"text\": \"a\"} \r", "a"));
    CHECK(field_is(" {\"text\": \"a\"}\x1c", NULL));
    CHECK(field_is("{\"text\": \"\\ud83d\"}", NULL));
    CHECK(field_is("{\"text\": 1}", NULL));
    CHECK(field_is("{\"text\": \"a\", }", NULL));
    CHECK(field_is("{\"x\": NaN, \"text\": \"a\"}", NULL));
    CHECK(field_is("[\"text\"]", NULL));
    CHECK(field_is("", NULL));

    /* a block: entries, statuses, keys and counts */
    const char *block = "{\"text\": \" one \"}\n\n  \n{\"text\": \"e\\u0301\"}\nnot json\n"
                        "{\"text\": \"toolongtext\"}\n{\"text\": \"\\u0007two\"}";
    lmio_prep_options opt = {.mode = LMIO_PREP_JSONL, .field = (const uint8_t *)"text",
                             .field_len = 4, .steps = all, .digest = 1,
                             .max_line_bytes = SIZE_MAX, .max_chars = 8};
    lmio_prep_result res;
    CHECK(lmio_prepare_lines((const uint8_t *)block, strlen(block), &opt, &res) == 0);
    CHECK(!res.invalid_utf8 && res.n == 5);
    const uint8_t expect[] = {LMIO_DOC_CLEAN, LMIO_DOC_RAW, LMIO_DOC_LINE, LMIO_DOC_LINE,
                              LMIO_DOC_CLEAN};
    CHECK(!memcmp(res.status.data, expect, 5));
    CHECK(res.line_start.data[0] == 0 && res.line_start.data[2] == 42);
    CHECK(res.documents == 3 && res.cleaned == 2 && res.control_chars == 1 && res.whitespace == 1);
    CHECK(res.text.len == 3 + 3 + 3); /* the RAW one as read: e + U+0301 */
    CHECK(!memcmp(res.text.data, "onee\xcc\x81two", 9));
    CHECK(res.chars.data[0] == 3 && res.chars.data[4] == 3);
    uint8_t d[16];
    lmio_digest("one", 3, d);
    CHECK(!memcmp(res.digests.data, d, 16));
    lmio_prep_result_free(&res);
    opt.max_line_bytes = 10; /* every non-blank line is now too long: Python's */
    CHECK(lmio_prepare_lines((const uint8_t *)block, strlen(block), &opt, &res) == 0);
    CHECK(res.n == 5 && res.documents == 0);
    for (size_t i = 0; i < res.n; i++) CHECK(res.status.data[i] == LMIO_DOC_LINE);
    lmio_prep_result_free(&res);
    CHECK(lmio_prepare_lines((const uint8_t *)"{}\n\xff", 4, &opt, &res) == 0);
    CHECK(res.invalid_utf8 && res.n == 0);
    lmio_prep_result_free(&res);
    opt.mode = LMIO_PREP_TEXT_LINES;
    opt.max_line_bytes = SIZE_MAX;
    CHECK(lmio_prepare_lines((const uint8_t *)" a \r\n\xe3\x80\x80\nb", 10, &opt, &res) == 0);
    CHECK(res.n == 2 && res.text.len == 2 && !memcmp(res.text.data, "ab", 2));
    CHECK(res.line_start.data[1] == 9);
    lmio_prep_result_free(&res);

    /* UTF-8 validity: Python's (shortest forms, no surrogates, nothing past U+10FFFF) */
    const char *bad[] = {"\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe4\xb8", "\xff",
                         "\xe0\x9f\xbf", "\xf0\x8f\xbf\xbf"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(*bad); k++)
        CHECK(lmio_utf8_valid_prefix((const uint8_t *)bad[k], strlen(bad[k])) == 0);
    const char *good = "a\xc2\x80\xe0\xa0\x80\xed\x9f\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbfz";
    CHECK(lmio_utf8_valid_prefix((const uint8_t *)good, strlen(good)) == strlen(good));
    CHECK(lmio_py_isspace(0x3000) && lmio_py_isspace(0x1C) && !lmio_py_isspace(0x200B));
    CHECK(lmio_nfc_class('a') == 0 && lmio_nfc_class(0x0301) == LMIO_NFC_CHECK);
    CHECK(lmio_nfc_class(0x094D) == 9 && lmio_nfc_class(0x0378) == LMIO_NFC_CHECK);
}

int main(void) {
    test_utf8();
    test_scanners();
    test_safe_split();
    test_tables();
    test_encoder();
    test_batch();
    test_wordcount_and_train();
    test_digest();
    test_digest_set();
    test_prepare_pass();
    printf("lmio C core: all unit checks passed (ABI %d)\n", lmio_core_abi_version());
    return 0;
}
