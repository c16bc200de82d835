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

#endif
