/* The cleaning steps of lmio.text.Cleaner on UTF-8, for whole documents (csrc/prepare.c), and the
 * few facts about Python's str they need. The Python class stays the reference: each function
 * here gives the same result as it on every input it accepts, and the ones it does not settle
 * (NFC that may change the text) are left to it.
 *
 *   control      C0 and C1 control characters other than tab, LF and CR are removed (counted)
 *   NFC          the quick check of Python's unicodedata (unicode.h); "maybe" or "no" stops
 *   whitespace   CRLF and CR become LF, spaces and tabs at line ends go, runs of four or more
 *                LFs become three, and the ends are stripped of what str.isspace() calls space
 */
#ifndef LMIO_CLEAN_H
#define LMIO_CLEAN_H

#include "common.h"

enum {
    LMIO_CLEAN_CONTROL = 1,
    LMIO_CLEAN_NFC = 2,
    LMIO_CLEAN_WHITESPACE = 4,
};

/* lmio_clean's results besides the text: what a CleanStats counts. */
typedef struct {
    size_t control_chars; /* removed */
    size_t chars;         /* code points of the result */
    size_t raw_chars;     /* code points of the text before cleaning */
    int whitespace;       /* the whitespace step changed the text */
} lmio_clean_info;

/* Returned (nothing appended) when NFC may change the text: Python decides. */
#define LMIO_CLEAN_PYTHON (-1)
/* Returned by lmio_clean_json (nothing appended) for an escape that is not one character of a
 * str: a lone surrogate, or a malformed escape. */
#define LMIO_CLEAN_ESCAPE (-2)

/* Appends s[0 .. n) (valid UTF-8) cleaned with `steps` (LMIO_CLEAN_* bits) to out. Returns
 * LMIO_OK, LMIO_CLEAN_PYTHON, or LMIO_ENOMEM. */
int lmio_clean(const uint8_t *s, size_t n, unsigned steps, lmio_bytevec *out,
               lmio_clean_info *info);

/* lmio_clean of the text a JSON string holds, given its body s[0 .. n) (valid UTF-8, between
 * the quotes, escapes as written): unescaping and cleaning in one pass. Also returns
 * LMIO_CLEAN_ESCAPE. */
int lmio_clean_json(const uint8_t *s, size_t n, unsigned steps, lmio_bytevec *out,
                    lmio_clean_info *info);

/* str.isspace() of one code point (Unicode White_Space and the separators U+001C..U+001F). */
int lmio_py_isspace(uint32_t cp);

/* Whether valid UTF-8 s[0 .. n) is empty or all space (str.isspace()). */
int lmio_py_blank(const uint8_t *s, size_t n);

/* The length of the longest prefix of s[0 .. n) that is valid UTF-8 (n when all of it is),
 * with Python's idea of valid: shortest forms, no surrogates, nothing above U+10FFFF. */
size_t lmio_utf8_valid_prefix(const uint8_t *s, size_t n);

/* Code points in valid UTF-8. */
size_t lmio_utf8_count(const uint8_t *s, size_t n);

#endif
