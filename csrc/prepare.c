#include "prepare.h"

#include "clean.h"
#include "digest.h"
#include "jsonl.h"

static int i64_push(lmio_i64vec *v, int64_t x) {
    if (v->len == v->cap) {
        size_t cap = lmio_grow_cap(v->cap, v->len + 1, sizeof(int64_t));
        int64_t *data = cap ? realloc(v->data, cap * sizeof(int64_t)) : NULL;
        if (!data) return LMIO_ENOMEM;
        v->data = data;
        v->cap = cap;
    }
    v->data[v->len++] = x;
    return LMIO_OK;
}

void lmio_prep_result_free(lmio_prep_result *res) {
    lmio_bytevec_free(&res->status);
    free(res->line_start.data);
    free(res->line_end.data);
    free(res->text_end.data);
    free(res->chars.data);
    lmio_bytevec_free(&res->digests);
    lmio_bytevec_free(&res->text);
    memset(res, 0, sizeof(*res));
}

static int push_entry(lmio_prep_result *res, uint8_t status, size_t a, size_t b, size_t chars,
                      const uint8_t *digest) {
    static const uint8_t zeros[16] = {0};
    if (lmio_bytevec_append(&res->status, &status, 1) ||
        i64_push(&res->line_start, (int64_t)a) || i64_push(&res->line_end, (int64_t)b) ||
        i64_push(&res->text_end, (int64_t)res->text.len) ||
        i64_push(&res->chars, (int64_t)chars) ||
        lmio_bytevec_append(&res->digests, digest ? digest : zeros, 16))
        return LMIO_ENOMEM;
    res->n++;
    return LMIO_OK;
}

/* One line: an entry, or nothing for a blank one. `raw` is room for a text Python cleans. */
static int do_line(const uint8_t *s, size_t a, size_t b, const lmio_prep_options *opt,
                   lmio_bytevec *raw, lmio_prep_result *res) {
    const uint8_t *line = s + a;
    size_t n = b - a;
    if (n > opt->max_line_bytes) return push_entry(res, LMIO_DOC_LINE, a, b, 0, NULL);
    int json = opt->mode == LMIO_PREP_JSONL;
    if ((n == 0 || line[0] != '{' || !json) && lmio_py_blank(line, n)) return LMIO_OK;
    const uint8_t *text = line;
    size_t len = n;
    if (json) {
        int rc = lmio_jsonl_field(line, n, opt->field, opt->field_len, &text, &len);
        if (rc == LMIO_JSONL_NOMEM) return LMIO_ENOMEM;
        if (rc != LMIO_JSONL_FOUND) return push_entry(res, LMIO_DOC_LINE, a, b, 0, NULL);
    }
    lmio_clean_info info;
    size_t start = res->text.len;
    int rc = json ? lmio_clean_json(text, len, opt->steps, &res->text, &info)
                  : lmio_clean(text, len, opt->steps, &res->text, &info);
    if (rc == LMIO_ENOMEM) return rc;
    if (rc == LMIO_CLEAN_ESCAPE) return push_entry(res, LMIO_DOC_LINE, a, b, 0, NULL);
    size_t raw_chars = info.raw_chars;
    if (rc == LMIO_CLEAN_PYTHON) { /* the text as read, for Python to clean */
        raw->len = 0;
        if (json) {
            int u = lmio_json_unescape(text, len, raw);
            if (u == LMIO_JSONL_NOMEM) return LMIO_ENOMEM;
            if (u) return push_entry(res, LMIO_DOC_LINE, a, b, 0, NULL); /* a lone surrogate */
        } else if (lmio_bytevec_append(raw, text, len)) {
            return LMIO_ENOMEM;
        }
        raw_chars = lmio_utf8_count(raw->data, raw->len);
    }
    /* documents longer than max_chars are cut into parts by Python */
    if (raw_chars > opt->max_chars) {
        res->text.len = start;
        return push_entry(res, LMIO_DOC_LINE, a, b, 0, NULL);
    }
    res->documents++;
    if (rc == LMIO_CLEAN_PYTHON) {
        if (lmio_bytevec_append(&res->text, raw->data, raw->len)) return LMIO_ENOMEM;
        return push_entry(res, LMIO_DOC_RAW, a, b, 0, NULL);
    }
    res->cleaned++;
    res->control_chars += info.control_chars;
    res->whitespace += info.whitespace != 0;
    uint8_t digest[16];
    if (opt->digest) lmio_digest(res->text.data + start, res->text.len - start, digest);
    return push_entry(res, LMIO_DOC_CLEAN, a, b, info.chars, opt->digest ? digest : NULL);
}

int lmio_prepare_lines(const uint8_t *block, size_t n, const lmio_prep_options *opt,
                       lmio_prep_result *res) {
    memset(res, 0, sizeof(*res));
    if (lmio_utf8_valid_prefix(block, n) != n) {
        res->invalid_utf8 = 1;
        return LMIO_OK;
    }
    lmio_bytevec raw = {0};
    int rc = LMIO_OK;
    for (size_t a = 0; a <= n && !rc;) {
        const uint8_t *lf = a < n ? memchr(block + a, '\n', n - a) : NULL;
        size_t b = lf ? (size_t)(lf - block) : n;
        if (b > a || lf || a < n) rc = do_line(block, a, b, opt, &raw, res);
        if (!lf) break;
        a = b + 1;
    }
    lmio_bytevec_free(&raw);
    if (rc) lmio_prep_result_free(res);
    return rc;
}
