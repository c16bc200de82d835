/* tiktoken's o200k pattern, seven alternatives tried in order (U = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}],
 * W = [\p{Ll}\p{Lm}\p{Lo}\p{M}], C = (?i:'s|'t|'re|'ve|'m|'ll|'d)):
 *   A1 [^\r\n\p{L}\p{N}]?U*W+C?    A2 [^\r\n\p{L}\p{N}]?U+W*C?    A3 \p{N}{1,3}
 *   A4  ?[^\s\p{L}\p{N}]+[\r\n/]*   A5 \s*[\r\n]+   A6 \s+(?!\S)   A7 \s+
 * None is possessive, so A1 backtracks: U* first takes the whole U run, then gives characters
 * back until W+ can start. The optional prefix backtracks too: marks (\p{M}) are not letters, so
 * a mark can be the prefix and, when that fails, the start of the word itself. */
#include "pretok_impl.h"

/* A1 from p: end of the match, 0 if it fails. */
static size_t o200k_a1(const uint8_t *s, size_t n, size_t p) {
    size_t i = p, w_end = 0, len;
    while (i < n) { /* U*, remembering the end of its last character that is also W */
        unsigned f = pt_flags(s, n, i, &len);
        if (!(f & LMIO_UC_U)) break;
        i += len;
        if (f & LMIO_UC_W) w_end = i;
    }
    if (i < n && (pt_flags(s, n, i, &len) & LMIO_UC_W)) {
        i = pt_run_any(s, n, i + len, LMIO_UC_W); /* W+ right after the U run, greedy */
    } else if (w_end) {
        i = w_end; /* W+ is that last W character: what follows it is not W */
    } else {
        return 0;
    }
    if (i < n && s[i] == '\'') i += pt_contraction_ci(s, n, i);
    return i;
}

/* A2 from p: end of the match, 0 if it fails. */
static size_t o200k_a2(const uint8_t *s, size_t n, size_t p) {
    size_t len;
    if (p >= n || !(pt_flags(s, n, p, &len) & LMIO_UC_U)) return 0;
    size_t i = pt_run_any(s, n, pt_run_any(s, n, p + len, LMIO_UC_U), LMIO_UC_W);
    if (i < n && s[i] == '\'') i += pt_contraction_ci(s, n, i);
    return i;
}

/* A1/A2 from p over ASCII letters only (s[p] is one): [A-Z]* then [a-z]+ is A1, and without
 * lowercase A2 is [A-Z]+. 0 when a non-ASCII byte follows the letters (the general path then
 * decides: it may continue the word). */
static inline size_t o200k_ascii(const uint8_t *s, size_t n, size_t p) {
    size_t j = p;
    while (j < n && (unsigned)(s[j] - 'A') < 26u) j++;
    while (j < n && (unsigned)(s[j] - 'a') < 26u) j++;
    if (j < n && s[j] >= 0x80) return 0;
    if (j < n && s[j] == '\'') j += pt_contraction_ci(s, n, j);
    return j;
}

static __attribute__((noinline)) size_t scan_o200k(const uint8_t *s, size_t n, size_t i);

size_t lmio_scan_o200k(const uint8_t *s, size_t n, size_t i) {
    size_t e; /* fast paths: ASCII words, with or without a space; the rest out of line */
    if (lmio_ucd_ascii[s[i]] & LMIO_UC_L) {
        if ((e = o200k_ascii(s, n, i))) return e;
    } else if (s[i] == ' ' && i + 1 < n && (lmio_ucd_ascii[s[i + 1]] & LMIO_UC_L)) {
        if ((e = o200k_ascii(s, n, i + 1))) return e;
    }
    return scan_o200k(s, n, i);
}

static size_t scan_o200k(const uint8_t *s, size_t n, size_t i) {
    uint8_t c = s[i];
    size_t len, e;
    unsigned f = pt_flags(s, n, i, &len);
    int prefix = !(f & PT_LN) && c != '\r' && c != '\n';
    if (prefix && i + len < n && (e = o200k_a1(s, n, i + len))) return e;
    if ((f & (LMIO_UC_U | LMIO_UC_W)) && (e = o200k_a1(s, n, i))) return e;
    if (prefix && i + len < n && (e = o200k_a2(s, n, i + len))) return e;
    if ((f & LMIO_UC_U) && (e = o200k_a2(s, n, i))) return e;
    if (f & LMIO_UC_N) return pt_run_any_max(s, n, i + len, LMIO_UC_N, 2);
    size_t start = i;
    if (c == ' ' && i + 1 < n) {
        size_t len2;
        if (!(pt_flags(s, n, i + 1, &len2) & PT_LNS)) {
            f = 0;
            start = i + 1;
        }
    }
    if (!(f & LMIO_UC_S)) return pt_run_bytes(s, n, pt_run_none(s, n, start, PT_LNS), 1);
    pt_ws w;
    pt_ws_run(s, n, i, &w);
    if (w.nl_end) return w.nl_end;
    if (w.end == n) return n;
    if (w.last > i) return w.last;
    return w.end; /* \s+ of a single character */
}
