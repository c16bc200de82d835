/* One string field of a JSON-lines record, read as Python's json module reads it.
 *
 * The reference is lmio.text's reader: json.loads(line) (for a line that starts with "{", the
 * scanner with anything str.isspace() allows after the object), then record[field] when it is
 * a str. This code settles the common case, a line holding one JSON object whose top-level
 * field (the last one, when the key repeats) is a string without lone surrogates, and hands
 * every other line back, so that Python reads it and counts or reports what is wrong exactly
 * as it always does: not an object, malformed JSON, a missing or non-string field, escaped
 * lone surrogates, NaN or Infinity, integers too long for int(), nesting deeper than 64. */
#ifndef LMIO_JSONL_H
#define LMIO_JSONL_H

#include "common.h"

enum {
    LMIO_JSONL_FOUND = 0,  /* the field is a string: its body is at *value */
    LMIO_JSONL_PYTHON = 1, /* anything else: let Python read the line */
};

/* line[0 .. n) is one line (no LF) of valid UTF-8; field[0 .. field_len) is the key as UTF-8.
 * Returns LMIO_JSONL_FOUND with the string's body (between its quotes, escapes as written) at
 * value[0 .. *value_len), LMIO_JSONL_PYTHON, or LMIO_JSONL_NOMEM. The body may still escape a
 * lone surrogate, which lmio_json_unescape and lmio_clean_json report. */
int lmio_jsonl_field(const uint8_t *line, size_t n, const uint8_t *field, size_t field_len,
                     const uint8_t **value, size_t *value_len);

/* Appends the text of a string body found by lmio_jsonl_field to out. Returns 0, 1 for a lone
 * surrogate (Python's str would hold one: nothing appended), or LMIO_JSONL_NOMEM. */
int lmio_json_unescape(const uint8_t *s, size_t n, lmio_bytevec *out);

/* Returned instead of LMIO_ENOMEM, to keep it apart from the statuses. */
#define LMIO_JSONL_NOMEM (-1)

#endif
