/* The C pass of `lmio prepare` over a block of whole lines (csrc/prepare.c): each line of JSON
 * lines or of line-split text becomes a document, read (jsonl.h), cleaned (clean.h) and hashed
 * (digest.h) here, or is left to Python. Python (src/lmio/prepare/_native_unit.py) stays the
 * reference for everything this pass hands back, so the documents come out the same either way.
 *
 * Every non-blank line gives one entry, in order:
 *   LMIO_DOC_CLEAN   read and cleaned here: its cleaned text, code points and digest
 *   LMIO_DOC_RAW     read here, but the cleaning is Python's (NFC may change it): its raw text
 *   LMIO_DOC_LINE    Python reads the line (see jsonl.h; also lines over max_line_bytes and
 *                    documents over max_chars code points, which Python cuts into parts)
 * A block that is not valid UTF-8 gives no entries and sets invalid_utf8: Python reads it all,
 * replacing and counting (or reporting) the bad bytes. Blank lines (str.isspace()) give none. */
#ifndef LMIO_PREPARE_H
#define LMIO_PREPARE_H

#include "common.h"

enum { LMIO_PREP_JSONL = 0, LMIO_PREP_TEXT_LINES = 1 };
enum { LMIO_DOC_CLEAN = 0, LMIO_DOC_RAW = 1, LMIO_DOC_LINE = 2 };

typedef struct {
    int mode;                  /* LMIO_PREP_* */
    const uint8_t *field;      /* JSON lines: the text field's key, UTF-8 */
    size_t field_len;
    unsigned steps;            /* LMIO_CLEAN_* */
    int digest;                /* compute each CLEAN document's digest (digest.h) */
    size_t max_line_bytes;     /* longer lines go to Python (SIZE_MAX: no limit) */
    size_t max_chars;          /* longer documents go to Python (SIZE_MAX: no limit) */
} lmio_prep_options;

typedef struct {
    int64_t *data;
    size_t len, cap;
} lmio_i64vec;

typedef struct {
    size_t n;                  /* entries */
    lmio_bytevec status;       /* n: LMIO_DOC_* */
    lmio_i64vec line_start;    /* n: the entry's line, as offsets into the block */
    lmio_i64vec line_end;
    lmio_i64vec text_end;      /* n: where its text ends in `text` (it starts where the
                                  previous one ends; LINE entries have none) */
    lmio_i64vec chars;         /* n: code points of the cleaned text (CLEAN), else 0 */
    lmio_bytevec digests;      /* 16 * n (zeros unless CLEAN and asked for) */
    lmio_bytevec text;         /* CLEAN and RAW texts, back to back */
    size_t documents;          /* CLEAN + RAW entries (documents read) */
    size_t cleaned;            /* CLEAN entries (documents the cleaning counts) */
    size_t control_chars;      /* removed from CLEAN documents */
    size_t whitespace;         /* CLEAN documents the whitespace step changed */
    int invalid_utf8;
} lmio_prep_result;

/* Runs the pass over block[0 .. n) (whole lines separated by LF; the last one needs none). */
int lmio_prepare_lines(const uint8_t *block, size_t n, const lmio_prep_options *opt,
                       lmio_prep_result *res);
void lmio_prep_result_free(lmio_prep_result *res);

#endif
