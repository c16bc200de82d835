#include "clean.h"

#include "unicode.h"
#include "utf8.h"

static inline int py_isspace(uint32_t cp) {
    if (cp < 0x80) return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
    if (cp > 0x3000) return 0;
    switch (cp) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
        return 1;
    default: return cp >= 0x2000 && cp <= 0x200A;
    }
}

/* The character at s[0 .. n), n >= 1, s[0] >= 0x80, in text already known to be valid UTF-8
 * (out-of-range reads are still avoided: a cut-off sequence decodes as invalid). */
static inline size_t decode_valid(const uint8_t *s, size_t n, uint32_t *cp) {
    uint8_t b = s[0];
    if (b < 0xE0 && n >= 2) {
        *cp = ((uint32_t)(b & 0x1F) << 6) | (s[1] & 0x3Fu);
        return 2;
    }
    if (b < 0xF0 && n >= 3) {
        *cp = ((uint32_t)(b & 0x0F) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
        return 3;
    }
    if (n >= 4) {
        *cp = ((uint32_t)(b & 0x07) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) |
              (s[3] & 0x3Fu);
        return 4;
    }
    return lmio_utf8_decode(s, n, cp);
}

int lmio_py_isspace(uint32_t cp) { return py_isspace(cp); }

int lmio_py_blank(const uint8_t *s, size_t n) {
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += lmio_utf8_decode(s + i, n - i, &cp);
        if (!lmio_py_isspace(cp)) return 0;
    }
    return 1;
}

static inline int all_ascii8(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return !(v & 0x8080808080808080ull);
}

/* Per lead byte: the sequence's length (0: not a lead byte), and the range of its second byte
 * that keeps it shortest-form, free of surrogates and below U+110000. */
static uint8_t utf8_len(uint8_t b) {
    if (b < 0x80) return 1;
    if (b < 0xC2) return 0;
    if (b < 0xE0) return 2;
    if (b < 0xF0) return 3;
    return b < 0xF5 ? 4 : 0;
}

size_t lmio_utf8_valid_prefix(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (i + 8 <= n && all_ascii8(s + i)) {
            i += 8;
            continue;
        }
        uint8_t b = s[i];
        size_t len = utf8_len(b);
        if (len == 1) {
            i++;
            continue;
        }
        if (!len || n - i < len) return i;
        uint8_t lo = 0x80, hi = 0xBF, c1 = s[i + 1];
        if (b == 0xE0) lo = 0xA0;
        else if (b == 0xED) hi = 0x9F;
        else if (b == 0xF0) lo = 0x90;
        else if (b == 0xF4) hi = 0x8F;
        if (c1 < lo || c1 > hi) return i;
        if (len > 2 && (s[i + 2] & 0xC0) != 0x80) return i;
        if (len > 3 && (s[i + 3] & 0xC0) != 0x80) return i;
        i += len;
    }
    return n;
}

size_t lmio_utf8_count(const uint8_t *s, size_t n) {
    size_t continuation = 0;
    for (size_t i = 0; i < n; i++) continuation += (s[i] & 0xC0) == 0x80;
    return n - continuation;
}

/* Byte classes of the cleaning loop: P plain ASCII, B space or tab, L LF, R CR, C other C0
 * controls and DEL, H a byte of a multi-byte character. */
enum { P, B, L, R, C, H };
static const uint8_t CLASS[256] = {
    C, C, C, C, C, C, C, C, C, B, L, C, C, R, C, C,
    C, C, C, C, C, C, C, C, C, C, C, C, C, C, C, C,
    B, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, C,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
};

/* Whether any byte of the word is outside 0x20 .. 0x7E: a control, DEL, or not ASCII. */
static inline int special8(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    return ((v | (v + ones) | ((v - ones * 0x20) & ~v)) & highs) != 0;
}

/* One pass: control characters out, the NFC quick check on what stays, and the whitespace
 * step. With the whitespace step, nothing is written before the first character that is not
 * space, and the output is cut after the last one (strip()); spaces and tabs are written but
 * taken back when an LF follows them on their line (rstrip(" \t") per line); an LF is written
 * while fewer than three end the output, and dropped after that (runs of four or more become
 * three); CR and CRLF count as one LF. Taking back and cutting is exactly Python's steps in
 * Python's order: those steps only drop or rewrite spaces, never move anything else. Runs of
 * printable ASCII are copied whole; the rest goes a character at a time. */
int lmio_clean(const uint8_t *s, size_t n, unsigned steps, lmio_bytevec *out,
               lmio_clean_info *info) {
    const int control = (steps & LMIO_CLEAN_CONTROL) != 0;
    const int nfc = (steps & LMIO_CLEAN_NFC) != 0;
    const int tidy = (steps & LMIO_CLEAN_WHITESPACE) != 0;
    info->control_chars = 0;
    info->chars = 0;
    info->whitespace = 0;
    if (n > SIZE_MAX - out->len) return LMIO_ENOMEM;
    if (!steps) {
        if (lmio_bytevec_append(out, s, n)) return LMIO_ENOMEM;
        info->chars = lmio_utf8_count(s, n);
        return LMIO_OK;
    }
    if (out->cap < out->len + n) { /* the result is never longer than the input */
        size_t keep = out->len;
        if (lmio_bytevec_append(out, s, n)) return LMIO_ENOMEM;
        out->len = keep;
    }
    const size_t base = out->len;
    uint8_t *o = out->data + base; /* room for n bytes */
    size_t w = 0, chars = 0;       /* bytes and code points written */
    size_t kept = 0, kept_chars = 0; /* the output up to its last non-space character */
    size_t blanks_at = SIZE_MAX, blanks_chars = 0; /* where the line's trailing blanks start */
    size_t lfs = 0;                /* LFs that end the output (blanks aside) */
    int started = !tidy;           /* a non-space character has been written */
    int changed = 0;
    int after_cr = 0;              /* the last character kept was a CR (an LF now joins it) */
    unsigned prev_class = 0;       /* canonical combining class of the previous character */
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j + 8 <= n && !special8(s + j)) j += 8;
        while (j < n && s[j] >= 0x20 && s[j] < 0x7F) j++;
        if (j > i) { /* printable ASCII: copied whole */
            size_t a = i;
            if (!started) {
                while (a < j && s[a] == ' ') a++;
                changed |= a > i;
            }
            if (a < j) {
                size_t len = j - a;
                memcpy(o + w, s + a, len);
                if (tidy) {
                    size_t t = j;
                    while (t > a && s[t - 1] == ' ') t--;
                    if (t > a) {
                        started = 1;
                        lfs = 0;
                        kept = w + (t - a);
                        kept_chars = chars + (t - a);
                        blanks_at = t < j ? kept : SIZE_MAX;
                        blanks_chars = kept_chars;
                    } else if (blanks_at == SIZE_MAX) {
                        blanks_at = w;
                        blanks_chars = chars;
                    }
                }
                w += len;
                chars += len;
                after_cr = 0;
                prev_class = 0;
            }
            i = j;
            continue;
        }
        uint8_t c = s[i];
        if (c >= 0x80 && started) { /* a run of non-ASCII characters other than C1 and spaces */
            size_t w0 = w;
            while (i < n && s[i] >= 0x80) {
                uint32_t u;
                size_t m = decode_valid(s + i, n - i, &u);
                if (u <= 0x9F || u > 0x10FFFF || py_isspace(u)) break;
                if (nfc) {
                    unsigned cls = lmio_nfc_class(u);
                    if (cls == LMIO_NFC_CHECK || (cls && prev_class > cls)) {
                        out->len = base;
                        return LMIO_CLEAN_PYTHON;
                    }
                    prev_class = cls;
                }
                switch (m) {
                case 4: o[w + 3] = s[i + 3]; /* fall through */
                case 3: o[w + 2] = s[i + 2]; /* fall through */
                case 2: o[w + 1] = s[i + 1]; /* fall through */
                default: o[w] = s[i];
                }
                w += m;
                i += m;
                chars++;
            }
            if (w > w0) {
                kept = w;
                kept_chars = chars;
                blanks_at = SIZE_MAX;
                lfs = 0;
                after_cr = 0;
                continue;
            }
        }
        uint32_t cp = c;
        size_t len = 1;
        if (c >= 0x80) {
            len = lmio_utf8_decode(s + i, n - i, &cp);
            if (control && cp <= 0x9F) { /* C1: U+0080 .. U+009F */
                info->control_chars++;
                i += len;
                continue;
            }
            if (nfc) {
                unsigned cls = lmio_nfc_class(cp);
                if (cls == LMIO_NFC_CHECK || (cls && prev_class > cls)) {
                    out->len = base;
                    return LMIO_CLEAN_PYTHON;
                }
                prev_class = cls;
            }
        } else {
            if (control && CLASS[c] == C) {
                info->control_chars++;
                i++;
                continue;
            }
            prev_class = 0;
        }
        if (!tidy) {
            memcpy(o + w, s + i, len);
            w += len;
            chars++;
            i += len;
            continue;
        }
        int space = py_isspace(cp);
        int cr = after_cr;
        after_cr = c == '\r';
        if (!started && space) {
            changed = 1;
            i += len;
            continue;
        }
        started = 1;
        if (c == '\r' || c == '\n') {
            i++;
            if (c == '\r') {
                changed = 1;
            } else if (cr) { /* the LF of a CRLF (controls between them were removed first) */
                continue;
            }
            if (blanks_at != SIZE_MAX) { /* take back the line's trailing blanks */
                changed = 1;
                w = blanks_at;
                chars = blanks_chars;
                blanks_at = SIZE_MAX;
            }
            if (lfs == 3) {
                changed = 1;
                continue;
            }
            o[w++] = '\n';
            chars++;
            lfs++;
            continue;
        }
        if (c == '\t') {
            if (blanks_at == SIZE_MAX) {
                blanks_at = w;
                blanks_chars = chars;
            }
            o[w++] = '\t';
            chars++;
            i++;
            continue;
        }
        memcpy(o + w, s + i, len);
        w += len;
        chars++;
        i += len;
        blanks_at = SIZE_MAX;
        lfs = 0;
        if (!space) {
            kept = w;
            kept_chars = chars;
        }
    }
    if (tidy) {
        if (kept < w) changed = 1;
        w = kept;
        chars = kept_chars;
    }
    out->len = base + w;
    info->chars = chars;
    info->whitespace = changed;
    return LMIO_OK;
}
