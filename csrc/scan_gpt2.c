/* tiktoken's r50k/p50k pattern (GPT-2's, with possessives that do not change it):
 *   '(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s       */
#include "pretok_impl.h"

static __attribute__((noinline)) size_t scan_gpt2(const uint8_t *s, size_t n, size_t i);

size_t lmio_scan_gpt2(const uint8_t *s, size_t n, size_t i) {
    /* fast paths for ASCII words, with or without a leading space; the rest out of line */
    if (lmio_ucd_ascii[s[i]] & LMIO_UC_L) return pt_run_fast(s, n, i + 1, LMIO_UC_L);
    if (s[i] == ' ' && i + 1 < n && (lmio_ucd_ascii[s[i + 1]] & LMIO_UC_L))
        return pt_run_fast(s, n, i + 2, LMIO_UC_L);
    return scan_gpt2(s, n, i);
}

static size_t scan_gpt2(const uint8_t *s, size_t n, size_t i) {
    uint8_t c = s[i];    if (c == '\'' && i + 1 < n) { /* contractions: lowercase only */
        uint8_t a = s[i + 1];
        if (a == 's' || a == 'd' || a == 'm' || a == 't') return i + 2;
        if (i + 2 < n) {
            uint8_t b = s[i + 2];
            if ((a == 'l' && b == 'l') || (a == 'v' && b == 'e') || (a == 'r' && b == 'e'))
                return i + 3;
        }
    }
    size_t len;
    unsigned f = pt_flags(s, n, i, &len);
    size_t start = i;
    if (c == ' ' && i + 1 < n) { /* " ?" takes the space when a letter/number/symbol run follows */
        size_t len2;
        unsigned g = pt_flags(s, n, i + 1, &len2);
        if (!(g & LMIO_UC_S)) {
            f = g;
            start = i + 1;
        }
    }
    if (f & LMIO_UC_L) return pt_run_fast(s, n, start, LMIO_UC_L);
    if (f & LMIO_UC_N) return pt_run_fast(s, n, start, LMIO_UC_N);
    if (!(f & LMIO_UC_S)) return pt_run_none(s, n, start, PT_LNS);
    /* whitespace: all of it at the end of the text, else all but the last character before a
     * non-space (which joins the next piece or stands alone), else one character */
    pt_ws w;
    pt_ws_run(s, n, i, &w);
    if (w.end == n) return n;
    if (w.last > i) return w.last;
    return i + len;
}
