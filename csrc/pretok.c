#include "pretok_impl.h"

lmio_scanner lmio_scanner_for(int pattern) {
    switch (pattern) {
    case LMIO_PATTERN_GPT2: return lmio_scan_gpt2;
    case LMIO_PATTERN_GPT4: return lmio_scan_gpt4;
    case LMIO_PATTERN_O200K: return lmio_scan_o200k;
    case LMIO_PATTERN_LLAMA3: return lmio_scan_llama3;
    default: return NULL;
    }
}

/* Whether the character that ends just before `end` (end >= 1) is whitespace. */
static int ws_before(const uint8_t *s, size_t end) {
    size_t start = end - 1;
    while (start > 0 && end - start < 4 && (s[start] & 0xC0) == 0x80) start--;
    size_t len;
    unsigned f = pt_flags(s, end, start, &len);
    return start + len == end && (f & LMIO_UC_S);
}

size_t lmio_pretok_safe_split(const uint8_t *s, size_t n, size_t from) {
    if (from < 2) from = 2;
    while (from < n) {
        const uint8_t *nl = memchr(s + from - 1, '\n', n - from);
        if (!nl) return n;
        size_t p = (size_t)(nl - s) + 1, len;
        if ((pt_flags(s, n, p, &len) & LMIO_UC_L) && !ws_before(s, p - 1)) return p;
        from = p + 1;
    }
    return n;
}
