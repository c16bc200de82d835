#include "jsonl.h"

#include "clean.h"
#include "utf8.h"

#define MAX_DEPTH 64
#define MAX_NUMBER 4000 /* longer numbers go to Python (int() refuses more than 4300 digits) */
#define FAIL 1          /* the parsers' "let Python read it"; LMIO_JSONL_NOMEM is negative */

typedef struct {
    const uint8_t *s;
    size_t n, i;
    int depth;
    /* the top-level field: its last occurrence */
    const uint8_t *field;
    size_t field_len;
    int found;       /* 0: not seen; 1: a string; 2: another value */
    size_t val_a, val_b; /* the string's bytes between its quotes */
    lmio_bytevec scratch; /* unescaped keys */
} parser;

static inline void skip_ws(parser *p) {
    while (p->i < p->n) {
        uint8_t c = p->s[p->i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') break;
        p->i++;
    }
}

/* Eight bytes at once: does any of them need a look (a quote, a backslash, a control)? */
static inline int plain8(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
    uint64_t zero_q = (q - ones) & ~q, zero_b = (b - ones) & ~b;
    uint64_t below = (v - ones * 0x20) & ~v; /* high bit set where a byte is < 0x20 */
    return !((zero_q | zero_b | below) & highs);
}

/* A string from after its opening quote to after its closing one (strict: no control
 * characters; escapes checked, \u with four hex digits). */
static int scan_string(parser *p, int *escaped) {
    const uint8_t *s = p->s;
    size_t i = p->i, n = p->n;
    for (;;) {
        while (i + 8 <= n && plain8(s + i)) i += 8;
        while (i < n && s[i] != '"' && s[i] != '\\' && s[i] >= 0x20) i++;
        if (i >= n || s[i] < 0x20) return FAIL;
        if (s[i] == '"') {
            p->i = i + 1;
            return 0;
        }
        *escaped = 1;
        if (i + 1 >= n) return FAIL;
        switch (s[i + 1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            i += 2;
            break;
        case 'u': {
            uint32_t v;
            if (i + 6 > n || lmio_hex4(s + i + 2, &v)) return FAIL;
            i += 6;
            break;
        }
        default: return FAIL;
        }
    }
}

/* Appends the value of the scanned string s[a .. b) (between its quotes). Returns 1 for a
 * lone surrogate (Python's str would hold it: not ours to read), 0, or LMIO_JSONL_NOMEM. */
static int unescape(const uint8_t *s, size_t a, size_t b, lmio_bytevec *out) {
    size_t before = out->len;
    if (lmio_bytevec_append(out, s + a, b - a)) return LMIO_JSONL_NOMEM; /* room: never longer */
    uint8_t *o = out->data + before;
    size_t w = 0;
    for (size_t i = a; i < b;) {
        const uint8_t *e = memchr(s + i, '\\', b - i);
        size_t run = (e ? (size_t)(e - s) : b) - i;
        memmove(o + w, s + i, run);
        w += run;
        i += run;
        if (i >= b) break;
        uint8_t c = s[i + 1];
        uint32_t cp = 0;
        i += 2;
        switch (c) {
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            lmio_hex4(s + i, &cp); /* checked by scan_string */
            i += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF) return 1;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t low;
                if (i + 6 > b || s[i] != '\\' || s[i + 1] != 'u' || lmio_hex4(s + i + 2, &low) ||
                    low < 0xDC00 || low > 0xDFFF)
                    return 1;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                i += 6;
            }
            break;
        default: cp = c; /* '"', '\\', '/' */
        }
        w += lmio_put_utf8(o + w, cp);
    }
    out->len = before + w;
    return 0;
}

int lmio_json_unescape(const uint8_t *s, size_t n, lmio_bytevec *out) {
    size_t before = out->len;
    int rc = unescape(s, 0, n, out);
    if (rc) out->len = before;
    return rc;
}

static int parse_value(parser *p);

static int parse_number(parser *p) {
    const uint8_t *s = p->s;
    size_t i = p->i, n = p->n, start = i;
    if (s[i] == '-') i++;
    if (i < n && s[i] == '0') {
        i++;
    } else if (i < n && s[i] >= '1' && s[i] <= '9') {
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    } else {
        return FAIL; /* includes -Infinity */
    }
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || s[i] < '0' || s[i] > '9') return FAIL;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || s[i] < '0' || s[i] > '9') return FAIL;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i - start > MAX_NUMBER) return FAIL;
    p->i = i;
    return 0;
}

static int literal(parser *p, const char *word, size_t len) {
    if (p->n - p->i < len || memcmp(p->s + p->i, word, len)) return FAIL;
    p->i += len;
    return 0;
}

/* Whether the key s[a .. b) (escaped or not) is the field. */
static int key_is_field(parser *p, size_t a, size_t b, int escaped) {
    if (!escaped) return b - a == p->field_len && !memcmp(p->s + a, p->field, b - a);
    p->scratch.len = 0;
    int rc = unescape(p->s, a, b, &p->scratch);
    if (rc) return rc == LMIO_JSONL_NOMEM ? LMIO_JSONL_NOMEM : 0; /* a lone surrogate: not it */
    return p->scratch.len == p->field_len && !memcmp(p->scratch.data, p->field, p->field_len);
}

static int parse_container(parser *p, int top) {
    const uint8_t *s = p->s;
    int object = s[p->i] == '{';
    uint8_t close = object ? '}' : ']';
    if (++p->depth > MAX_DEPTH) return FAIL;
    p->i++;
    skip_ws(p);
    if (p->i < p->n && s[p->i] == close) {
        p->i++;
        p->depth--;
        return 0;
    }
    for (;;) {
        int is_field = 0;
        if (object) {
            if (p->i >= p->n || s[p->i] != '"') return FAIL;
            size_t a = ++p->i;
            int escaped = 0;
            if (scan_string(p, &escaped)) return FAIL;
            if (top) {
                is_field = key_is_field(p, a, p->i - 1, escaped);
                if (is_field < 0) return LMIO_JSONL_NOMEM;
            }
            skip_ws(p);
            if (p->i >= p->n || s[p->i] != ':') return FAIL;
            p->i++;
            skip_ws(p);
        }
        if (is_field && p->i < p->n && s[p->i] == '"') {
            size_t a = ++p->i;
            int escaped = 0;
            if (scan_string(p, &escaped)) return FAIL;
            p->found = 1;
            p->val_a = a;
            p->val_b = p->i - 1;
        } else {
            int rc = parse_value(p);
            if (rc) return rc;
            if (is_field) p->found = 2;
        }
        skip_ws(p);
        if (p->i >= p->n) return FAIL;
        if (s[p->i] == close) {
            p->i++;
            p->depth--;
            return 0;
        }
        if (s[p->i] != ',') return FAIL;
        p->i++;
        skip_ws(p);
    }
}

static int parse_value(parser *p) {
    if (p->i >= p->n) return FAIL;
    switch (p->s[p->i]) {
    case '"': {
        int escaped = 0;
        p->i++;
        return scan_string(p, &escaped);
    }
    case '{':
    case '[': return parse_container(p, 0);
    case 't': return literal(p, "true", 4);
    case 'f': return literal(p, "false", 5);
    case 'n': return literal(p, "null", 4);
    default: return parse_number(p);
    }
}

int lmio_jsonl_field(const uint8_t *line, size_t n, const uint8_t *field, size_t field_len,
                     const uint8_t **value, size_t *value_len) {
    parser p = {.s = line, .n = n, .field = field, .field_len = field_len};
    size_t lead = 0;
    while (lead < n && (line[lead] == ' ' || line[lead] == '\t' || line[lead] == '\r')) lead++;
    if (lead >= n || line[lead] != '{') return LMIO_JSONL_PYTHON;
    p.i = lead;
    int rc = parse_container(&p, 1);
    lmio_bytevec_free(&p.scratch);
    if (rc) return rc < 0 ? LMIO_JSONL_NOMEM : LMIO_JSONL_PYTHON;
    /* after the object: json.loads allows JSON whitespace; a line that starts with "{" is read
     * by the scanner, and then anything str.isspace() calls space may follow */
    if (lead) {
        skip_ws(&p);
        if (p.i != n) return LMIO_JSONL_PYTHON;
    } else if (!lmio_py_blank(line + p.i, n - p.i)) {
        return LMIO_JSONL_PYTHON;
    }
    if (p.found != 1) return LMIO_JSONL_PYTHON;
    *value = line + p.val_a;
    *value_len = p.val_b - p.val_a;
    return LMIO_JSONL_FOUND;
}
