/* UTF-8 decoding for the scanners. Text from Python is valid UTF-8, but the C API (and
 * encode_pieces/the fuzzer) can hand us any bytes, so every byte sequence has a defined reading. */
#ifndef LMIO_UTF8_H
#define LMIO_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The code point reported for a byte that does not start a valid, shortest-form sequence.
 * It is above U+10FFFF, so it belongs to no Unicode class: the scanners treat it like
 * punctuation, one byte at a time. */
#define LMIO_UTF8_INVALID 0x110000u

/* Decodes the character at s[0 .. n), n >= 1: stores its code point and returns its length. */
static inline size_t lmio_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp) {
    uint32_t b0 = s[0];
    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    if (b0 >= 0xC2 && b0 < 0xE0) {
        if (n >= 2 && (s[1] & 0xC0) == 0x80) {
            *cp = ((b0 & 0x1F) << 6) | (s[1] & 0x3Fu);
            return 2;
        }
    } else if (b0 >= 0xE0 && b0 < 0xF0) {
        if (n >= 3 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
            uint32_t c = ((b0 & 0x0F) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
            if (c >= 0x800 && (c < 0xD800 || c > 0xDFFF)) {
                *cp = c;
                return 3;
            }
        }
    } else if (b0 >= 0xF0 && b0 < 0xF5) {
        if (n >= 4 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80) {
            uint32_t c = ((b0 & 0x07) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) |
                         (s[3] & 0x3Fu);
            if (c >= 0x10000 && c <= 0x10FFFF) {
                *cp = c;
                return 4;
            }
        }
    }
    *cp = LMIO_UTF8_INVALID;
    return 1;
}

/* The value of four hex digits at s[0 .. 4): 0, or -1 if one is not a hex digit. */
static inline int lmio_hex4(const uint8_t *s, uint32_t *v) {
    uint32_t x = 0;
    for (int k = 0; k < 4; k++) {
        uint8_t c = s[k];
        x <<= 4;
        if (c >= '0' && c <= '9') x |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') x |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') x |= (uint32_t)(c - 'A' + 10);
        else return -1;
    }
    *v = x;
    return 0;
}

/* Writes code point cp (<= U+10FFFF) as UTF-8 at o (room for 4 bytes); returns its length. */
static inline size_t lmio_put_utf8(uint8_t *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | (cp >> 18));
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

#endif
