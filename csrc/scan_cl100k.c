/* tiktoken's cl100k pattern (gpt4) and the Llama 3 pattern:
 *   gpt4:   '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+
 *           | ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s
 *   llama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
 *           | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * The possessives change nothing (no later part of an alternative could take back what they
 * hold), and \s*[\r\n] ends where \s*[\r\n]+ does (after the run's last newline). The two differ
 * only in whitespace at the very end of the text: gpt4 tries \s++$ first and keeps the run
 * whole, Llama 3 first splits it after its last newline. */
#include "pretok_impl.h"

/* Everything but the ASCII-word fast path, kept out of line so that the fast path needs no
 * stack frame. */
static __attribute__((noinline)) size_t scan_cl100k(const uint8_t *s, size_t n, size_t i,
                                                    int end_first) {
    uint8_t c = s[i];
    if (c == '\'') {
        size_t k = pt_contraction_ci(s, n, i);
        if (k) return i + k;
    }
    size_t len;
    unsigned f = pt_flags(s, n, i, &len);
    if (f & LMIO_UC_L) return pt_run_fast(s, n, i + len, LMIO_UC_L);
    if (!(f & LMIO_UC_N) && c != '\r' && c != '\n' && i + len < n) {
        /* one non-letter, non-number, non-newline character may lead a letter run */
        size_t len2;
        if (pt_flags(s, n, i + len, &len2) & LMIO_UC_L)
            return pt_run_fast(s, n, i + len + len2, LMIO_UC_L);
    }
    if (f & LMIO_UC_N) return pt_run_any_max(s, n, i + len, LMIO_UC_N, 2);
    size_t start = i;
    if (c == ' ' && i + 1 < n) {
        size_t len2;
        if (!(pt_flags(s, n, i + 1, &len2) & PT_LNS)) {
            f = 0;
            start = i + 1;
        }
    }
    if (!(f & LMIO_UC_S)) return pt_run_bytes(s, n, pt_run_none(s, n, start, PT_LNS), 0);
    pt_ws w;
    pt_ws_run(s, n, i, &w);
    if (end_first && w.end == n) return n;
    if (w.nl_end) return w.nl_end;
    if (w.end == n) return n;
    if (w.last > i) return w.last;
    return i + len;
}

/* ASCII words, with or without a leading space: most pieces of most text. */
#define CL100K_FAST_PATH(s, n, i)                                                          \
    do {                                                                                   \
        if (lmio_ucd_ascii[s[i]] & LMIO_UC_L) return pt_run_fast(s, n, i + 1, LMIO_UC_L); \
        if (s[i] == ' ' && i + 1 < n && (lmio_ucd_ascii[s[i + 1]] & LMIO_UC_L))           \
            return pt_run_fast(s, n, i + 2, LMIO_UC_L);                                    \
    } while (0)

size_t lmio_scan_gpt4(const uint8_t *s, size_t n, size_t i) {
    CL100K_FAST_PATH(s, n, i);
    return scan_cl100k(s, n, i, 1);
}

size_t lmio_scan_llama3(const uint8_t *s, size_t n, size_t i) {
    CL100K_FAST_PATH(s, n, i);
    return scan_cl100k(s, n, i, 0);
}
