/* Encode throughput of the C core alone (no Python): bench_encode VOCAB TEXT PATTERN [REPEAT].
 * VOCAB is tokens in id order, each a little-endian uint32 length then its bytes. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>

#include "lmio_core.h"

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)size + 1);
    *n = fread(buf, 1, (size_t)size, f);
    fclose(f);
    return buf;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s VOCAB TEXT PATTERN [REPEAT]\n", argv[0]);
        return 2;
    }
    size_t vn, tn;
    uint8_t *vocab = slurp(argv[1], &vn), *text = slurp(argv[2], &tn);
    if (!vocab || !text) return 2;
    size_t cap = 1 << 20, n = 0;
    const uint8_t **toks = malloc(cap * sizeof(*toks));
    size_t *lens = malloc(cap * sizeof(size_t));
    for (size_t off = 0; off + 4 <= vn && n < cap; n++) {
        uint32_t len;
        memcpy(&len, vocab + off, 4);
        toks[n] = vocab + off + 4;
        lens[n] = len;
        off += 4 + len;
    }
    lmio_encoder *e;
    char err[256];
    if (lmio_encoder_new(toks, lens, n, NULL, NULL, NULL, 0, atoi(argv[3]), &e, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int repeat = argc > 4 ? atoi(argv[4]) : 5;
    double best = 1e9;
    size_t ntok = 0;
    lmio_u32vec out = {0};
    for (int r = 0; r < repeat; r++) {
        out.len = 0;
        double t = now();
        lmio_encode_ordinary(e, text, tn, &out);
        t = now() - t;
        if (t < best) best = t;
        ntok = out.len;
    }
    printf("%.1f MB/s  (%zu tokens, %.2f bytes/token)\n", tn / best / 1e6, ntok, (double)tn / ntok);
    lmio_u32vec_free(&out);
    lmio_encoder_free(e);
    free(toks);
    free(lens);
    free(vocab);
    free(text);
    return 0;
}
