/* Character-class helpers shared by the scanners (internal to pretok_*.c). */
#ifndef LMIO_PRETOK_IMPL_H
#define LMIO_PRETOK_IMPL_H

#include "common.h"
#include "pretok.h"
#include "unicode.h"
#include "utf8.h"

enum { PT_LN = LMIO_UC_L | LMIO_UC_N, PT_LNS = LMIO_UC_L | LMIO_UC_N | LMIO_UC_S };

/* Flags (unicode.h) and byte length of the character at s[i], i < n. */
static inline unsigned pt_flags(const uint8_t *s, size_t n, size_t i, size_t *len) {
    unsigned f = lmio_ucd_ascii[s[i]];
    if (LMIO_LIKELY(!(f & LMIO_UC_NONASCII))) {
        *len = 1;
        return f;
    }
    uint32_t cp;
    *len = lmio_utf8_decode(s + i, n - i, &cp);
    return lmio_uc_flags(cp);
}

/* End of the longest run from i of characters that have one of the flags in `any`. */
static inline size_t pt_run_any(const uint8_t *s, size_t n, size_t i, unsigned any) {
    while (i < n) {
        unsigned f = lmio_ucd_ascii[s[i]];
        if (LMIO_LIKELY(!(f & LMIO_UC_NONASCII))) {
            if (!(f & any)) break;
            i++;
            continue;
        }
        size_t len;
        if (!(pt_flags(s, n, i, &len) & any)) break;
        i += len;
    }
    return i;
}

/* End of the longest run from i of characters that have none of the flags in `none`. */
static inline size_t pt_run_none(const uint8_t *s, size_t n, size_t i, unsigned none) {
    while (i < n) {
        unsigned f = lmio_ucd_ascii[s[i]];
        if (LMIO_LIKELY(!(f & LMIO_UC_NONASCII))) {
            if (f & none) break;
            i++;
            continue;
        }
        size_t len;
        if (pt_flags(s, n, i, &len) & none) break;
        i += len;
    }
    return i;
}

/* End of the run of characters with flag `flag` (L or N) from i: a tight loop over ASCII bytes,
 * handing over to the general loop at the first non-ASCII byte. The hot path of every scanner. */
static inline size_t pt_run_fast(const uint8_t *s, size_t n, size_t i, unsigned flag) {
    while (i < n && (lmio_ucd_ascii[s[i]] & (flag | LMIO_UC_NONASCII)) == flag) i++;
    if (i < n && s[i] >= 0x80) i = pt_run_any(s, n, i, flag);
    return i;
}

/* Up to `max` characters from i that have one of the flags in `any` (\p{N}{1,3}). */
static inline size_t pt_run_any_max(const uint8_t *s, size_t n, size_t i, unsigned any, int max) {
    for (int k = 0; k < max && i < n; k++) {
        size_t len;
        if (!(pt_flags(s, n, i, &len) & any)) break;
        i += len;
    }
    return i;
}

/* End of the run of bytes from `set` ("\r\n" or "\r\n/") from i. */
static inline size_t pt_run_bytes(const uint8_t *s, size_t n, size_t i, int slash) {
    while (i < n && (s[i] == '\r' || s[i] == '\n' || (slash && s[i] == '/'))) i++;
    return i;
}

/* A whitespace run from i (the character at i is whitespace). */
typedef struct {
    size_t end;    /* end of the run */
    size_t last;   /* start of its last character (where \s+(?!\S) stops before a non-space) */
    size_t nl_end; /* end of its last \r or \n, 0 when it has none (where \s*[\r\n]+? stops) */
} pt_ws;

static inline void pt_ws_run(const uint8_t *s, size_t n, size_t i, pt_ws *w) {
    w->nl_end = 0;
    w->last = i;
    while (i < n) {
        size_t len;
        if (!(pt_flags(s, n, i, &len) & LMIO_UC_S)) break;
        if (s[i] == '\r' || s[i] == '\n') w->nl_end = i + 1;
        w->last = i;
        i += len;
    }
    w->end = i;
}

/* Length of a case-insensitive contraction at s[i] == '\'': '(?i:[sdmt]|ll|ve|re), 0 if none.
 * Under tiktoken's (?i), U+017F LATIN SMALL LETTER LONG S also matches `s` (simple case folding;
 * tools/gen_unicode_tables.py checks it is the only non-ASCII one). `c | 0x20` lowers exactly
 * the two ASCII cases of a letter and maps no other byte onto a lowercase letter. */
static inline size_t pt_contraction_ci(const uint8_t *s, size_t n, size_t i) {
    if (i + 1 >= n) return 0;
    unsigned a = s[i + 1] | 0x20u;
    if (a == 's' || a == 'd' || a == 'm' || a == 't') return 2;
    if (s[i + 1] == 0xC5 && i + 2 < n && s[i + 2] == 0xBF) return 3; /* U+017F */
    if (i + 2 >= n) return 0;
    unsigned b = s[i + 2] | 0x20u;
    if ((a == 'l' && b == 'l') || (a == 'v' && b == 'e') || (a == 'r' && b == 'e')) return 3;
    return 0;
}

#endif
