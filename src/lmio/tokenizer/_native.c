/* The one binding between Python and the plain-C core in csrc/. Glue only: argument conversion,
 * the GIL, and errors; every algorithm lives in csrc/ (see lmio_core.h). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "lmio_core.h"
#include "unicode.h"

/* Work on more text than this releases the GIL (below it, releasing costs more than it frees). */
#define RELEASE_GIL_BYTES 4096

/* ------------------------------------------------------------------ helpers */

static PyObject *raise_status(int rc, const char *err) {
    switch (rc) {
    case LMIO_ENOMEM: return PyErr_NoMemory();
    case LMIO_EINVAL:
        PyErr_SetString(PyExc_ValueError, err && err[0] ? err : "invalid argument");
        return NULL;
    case LMIO_ETHREAD: PyErr_SetString(PyExc_RuntimeError, "could not start threads"); return NULL;
    case LMIO_ECALLBACK:
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "stopped by callback");
        return NULL;
    default: PyErr_Format(PyExc_SystemError, "lmio core error %d", rc); return NULL;
    }
}

/* A list of ints; ints[id] (when id < n_ints) are prebuilt int objects: building a list of
 * tokens then allocates nothing per token (half the cost of a call on English otherwise). */
static PyObject *ids_to_list(const lmio_u32vec *v, PyObject *const *ints, size_t n_ints) {
    PyObject *list = PyList_New((Py_ssize_t)v->len);
    if (!list) return NULL;
    for (size_t i = 0; i < v->len; i++) {
        uint32_t id = v->data[i];
        if (LMIO_LIKELY(id < n_ints)) {
            Py_INCREF(ints[id]);
            PyList_SET_ITEM(list, (Py_ssize_t)i, ints[id]);
            continue;
        }
        PyObject *x = PyLong_FromUnsignedLong(id);
        if (!x) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, x);
    }
    return list;
}

/* The UTF-8 of a str (cached on the object; zero-copy for ASCII). Lone surrogates raise
 * UnicodeEncodeError, which the Python side repairs like tiktoken does. */
static const uint8_t *utf8_of(PyObject *text, size_t *len, const char *what) {
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "%s must be str, not %.80s", what, Py_TYPE(text)->tp_name);
        return NULL;
    }
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(text, &n);
    if (!s) return NULL;
    *len = (size_t)n;
    return (const uint8_t *)s;
}

/* Byte strings of a sequence of bytes (or str) objects, kept alive by *seq: a tuple copy, so
 * that no other thread can drop an item (a list can be mutated) while the GIL is released. */
typedef struct {
    PyObject *seq;
    const uint8_t **ptrs;
    size_t *lens;
    size_t n, total;
} byte_list;

static void byte_list_free(byte_list *b) {
    Py_XDECREF(b->seq);
    PyMem_Free(b->ptrs);
    PyMem_Free(b->lens);
    memset(b, 0, sizeof(*b));
}

/* strings: 0 = bytes items, 1 = str items (as UTF-8). */
static int byte_list_init(byte_list *b, PyObject *obj, int strings, const char *what) {
    memset(b, 0, sizeof(*b));
    if (PyUnicode_Check(obj) || PyBytes_Check(obj)) { /* a common slip: one text, not a list */
        PyErr_Format(PyExc_TypeError, "%s must be a sequence of items, not a single %.80s", what,
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    b->seq = PySequence_Tuple(obj);
    if (!b->seq) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(b->seq);
    b->n = (size_t)n;
    b->ptrs = PyMem_Malloc((n ? (size_t)n : 1) * sizeof(uint8_t *));
    b->lens = PyMem_Malloc((n ? (size_t)n : 1) * sizeof(size_t));
    if (!b->ptrs || !b->lens) {
        byte_list_free(b);
        PyErr_NoMemory();
        return -1;
    }
    PyObject **items = PySequence_Fast_ITEMS(b->seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (strings) {
            b->ptrs[i] = utf8_of(items[i], &b->lens[i], what);
            if (!b->ptrs[i]) {
                byte_list_free(b);
                return -1;
            }
        } else {
            if (!PyBytes_Check(items[i])) {
                PyErr_Format(PyExc_TypeError, "%s must hold bytes, not %.80s (item %zd)", what,
                             Py_TYPE(items[i])->tp_name, i);
                byte_list_free(b);
                return -1;
            }
            b->ptrs[i] = (const uint8_t *)PyBytes_AS_STRING(items[i]);
            b->lens[i] = (size_t)PyBytes_GET_SIZE(items[i]);
        }
        b->total += b->lens[i];
    }
    return 0;
}

/* A Python int in 0 .. 2^32 - 1, else ValueError naming it; -1 on error. */
static int64_t as_u32(PyObject *obj, const char *what) {
    PyObject *index = PyNumber_Index(obj);
    if (!index) return -1;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(index, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        Py_DECREF(index);
        return -1;
    }
    if (overflow || v < 0 || v > (long long)UINT32_MAX) {
        PyErr_Format(PyExc_ValueError, "%s %R is out of range (0 .. 2**32 - 1)", what, index);
        Py_DECREF(index);
        return -1;
    }
    Py_DECREF(index);
    return v;
}

static int parse_pattern(PyObject *obj, int *pattern) {
    long p = PyLong_AsLong(obj);
    if (p == -1 && PyErr_Occurred()) return -1;
    if (p < LMIO_PATTERN_CUSTOM || p >= LMIO_PATTERN_COUNT) {
        PyErr_Format(PyExc_ValueError,
                     "pattern must be -1 (custom) or a PATTERN_* id 0..%d, got %ld",
                     LMIO_PATTERN_COUNT - 1, p);
        return -1;
    }
    *pattern = (int)p;
    return 0;
}

/* ------------------------------------------------------------------ Encoder */

typedef struct {
    PyObject_HEAD
    lmio_encoder *enc;
    PyObject *special_names; /* tuple of str, in listing order */
    Py_ssize_t n_vocab;
    PyObject **ints; /* the int objects 0 .. n_ints - 1 (the mergeable ids) */
    size_t n_ints;
    int building; /* __init__ builds the tables without the GIL */
} EncoderObject;

static void free_ints(EncoderObject *self) {
    for (size_t i = 0; i < self->n_ints; i++) Py_XDECREF(self->ints[i]);
    PyMem_Free(self->ints);
    self->ints = NULL;
    self->n_ints = 0;
}

static int make_ints(EncoderObject *self, size_t n) {
    self->ints = PyMem_Calloc(n ? n : 1, sizeof(PyObject *));
    if (!self->ints) {
        PyErr_NoMemory();
        return -1;
    }
    self->n_ints = n;
    for (size_t i = 0; i < n; i++)
        if (!(self->ints[i] = PyLong_FromSize_t(i))) return -1;
    return 0;
}

static void Encoder_dealloc(EncoderObject *self) {
    lmio_encoder_free(self->enc);
    free_ints(self);
    Py_XDECREF(self->special_names);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Encoder_init(EncoderObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"ranks", "special_tokens", "pattern", NULL};
    PyObject *ranks, *specials, *pattern_obj;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO:Encoder", kwlist, &ranks, &specials,
                                     &pattern_obj))
        return -1;
    int pattern;
    if (parse_pattern(pattern_obj, &pattern)) return -1;
    if (self->enc || self->building) { /* other threads may be using it, without the GIL */
        PyErr_SetString(PyExc_RuntimeError, "Encoder is already initialised");
        return -1;
    }
    byte_list toks;
    if (byte_list_init(&toks, ranks, 0, "ranks")) return -1;
    PyObject *items = PyMapping_Items(specials);
    if (!items) {
        byte_list_free(&toks);
        return -1;
    }
    Py_ssize_t ns = PyList_GET_SIZE(items);
    const uint8_t **sp = PyMem_Malloc((ns ? (size_t)ns : 1) * sizeof(uint8_t *));
    size_t *sp_lens = PyMem_Malloc((ns ? (size_t)ns : 1) * sizeof(size_t));
    uint32_t *sp_ids = PyMem_Malloc((ns ? (size_t)ns : 1) * sizeof(uint32_t));
    PyObject *names = PyTuple_New(ns);
    int ok = sp && sp_lens && sp_ids && names;
    if (!ok) PyErr_NoMemory();
    int64_t max_special = -1;
    for (Py_ssize_t k = 0; ok && k < ns; k++) {
        PyObject *kv = PyList_GET_ITEM(items, k);
        if (!PyTuple_Check(kv) || PyTuple_GET_SIZE(kv) != 2) {
            PyErr_SetString(PyExc_TypeError, "special_tokens.items() must give (name, id) pairs");
            ok = 0;
            break;
        }
        PyObject *name = PyTuple_GET_ITEM(kv, 0), *id = PyTuple_GET_ITEM(kv, 1);
        sp[k] = utf8_of(name, &sp_lens[k], "special token names");
        int64_t v = sp[k] ? as_u32(id, "special token id") : -1;
        if (v < 0) {
            ok = 0;
            break;
        }
        sp_ids[k] = (uint32_t)v;
        if (v > max_special) max_special = v;
        Py_INCREF(name);
        PyTuple_SET_ITEM(names, k, name);
    }
    if (ok) {
        char err[512] = {0};
        int rc;
        lmio_encoder *enc = NULL;
        self->building = 1; /* the tables take milliseconds: other threads run meanwhile */
        Py_BEGIN_ALLOW_THREADS
        rc = lmio_encoder_new(toks.ptrs, toks.lens, toks.n, sp, sp_lens, sp_ids, (size_t)ns,
                              pattern, &enc, err, sizeof(err));
        Py_END_ALLOW_THREADS
        self->building = 0;
        self->enc = enc;
        if (rc) {
            raise_status(rc, err);
            ok = 0;
        }
    }
    if (ok && make_ints(self, toks.n)) {
        ok = 0;
        free_ints(self);
        lmio_encoder_free(self->enc);
        self->enc = NULL;
    }
    if (ok) {
        self->special_names = names;
        names = NULL;
        int64_t top = (int64_t)toks.n - 1 > max_special ? (int64_t)toks.n - 1 : max_special;
        self->n_vocab = (Py_ssize_t)(top + 1);
    }
    Py_XDECREF(names);
    PyMem_Free(sp);
    PyMem_Free(sp_lens);
    PyMem_Free(sp_ids);
    Py_DECREF(items);
    byte_list_free(&toks);
    return ok ? 0 : -1;
}

static int encoder_ready(EncoderObject *self, int need_scanner) {
    if (!self->enc) {
        PyErr_SetString(PyExc_RuntimeError, "Encoder is not initialised");
        return -1;
    }
    if (need_scanner && lmio_encoder_pattern(self->enc) == LMIO_PATTERN_CUSTOM) {
        PyErr_SetString(PyExc_ValueError,
                        "this Encoder has a custom pattern (-1): split the text in Python and use "
                        "encode_pieces()");
        return -1;
    }
    return 0;
}

/* allowed[k] = special k's name is in `allowed_special`; NULL + no error when none are. */
static uint8_t *allowed_mask(EncoderObject *self, PyObject *allowed_special, int *error) {
    *error = 0;
    Py_ssize_t n = PyTuple_GET_SIZE(self->special_names);
    if (!n) return NULL;
    uint8_t *mask = PyMem_Calloc((size_t)n, 1);
    if (!mask) {
        *error = 1;
        PyErr_NoMemory();
        return NULL;
    }
    int any = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        int in = PySequence_Contains(allowed_special, PyTuple_GET_ITEM(self->special_names, k));
        if (in < 0) {
            *error = 1;
            PyMem_Free(mask);
            return NULL;
        }
        mask[k] = (uint8_t)in;
        any |= in;
    }
    if (!any) {
        PyMem_Free(mask);
        return NULL;
    }
    return mask;
}

static PyObject *encode_text(EncoderObject *self, PyObject *text, const uint8_t *allowed) {
    size_t n;
    const uint8_t *s = utf8_of(text, &n, "text");
    if (!s) return NULL;
    lmio_u32vec out = {0};
    int rc;
    if (n > RELEASE_GIL_BYTES) {
        Py_BEGIN_ALLOW_THREADS
        rc = lmio_encode(self->enc, s, n, allowed, &out);
        Py_END_ALLOW_THREADS
    } else {
        rc = lmio_encode(self->enc, s, n, allowed, &out);
    }
    PyObject *res = rc ? raise_status(rc, NULL) : ids_to_list(&out, self->ints, self->n_ints);
    lmio_u32vec_free(&out);
    return res;
}

static PyObject *Encoder_encode_ordinary(EncoderObject *self, PyObject *text) {
    if (encoder_ready(self, 1)) return NULL;
    return encode_text(self, text, NULL);
}

static PyObject *Encoder_encode(EncoderObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"text", "allowed_special", NULL};
    PyObject *text, *allowed_special;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO:encode", kwlist, &text, &allowed_special))
        return NULL;
    if (encoder_ready(self, 1)) return NULL;
    int error;
    uint8_t *mask = allowed_mask(self, allowed_special, &error);
    if (error) return NULL;
    PyObject *res = encode_text(self, text, mask);
    PyMem_Free(mask);
    return res;
}

static PyObject *Encoder_encode_batch(EncoderObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"texts", "allowed_special", "num_threads", NULL};
    PyObject *texts, *allowed_special;
    int nthreads;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOi:encode_batch", kwlist, &texts,
                                     &allowed_special, &nthreads))
        return NULL;
    if (encoder_ready(self, 1)) return NULL;
    int error;
    uint8_t *mask = allowed_mask(self, allowed_special, &error);
    if (error) return NULL;
    byte_list docs;
    if (byte_list_init(&docs, texts, 1, "texts")) {
        PyMem_Free(mask);
        return NULL;
    }
    lmio_batch *batch = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = lmio_encode_batch(self->enc, docs.ptrs, docs.lens, docs.n, mask, nthreads, &batch);
    Py_END_ALLOW_THREADS
    PyMem_Free(mask);
    PyObject *res = NULL;
    if (rc) {
        raise_status(rc, NULL);
    } else {
        size_t total = lmio_batch_total(batch);
        PyObject *tokens = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(total * 4));
        PyObject *offsets = tokens ? PyByteArray_FromStringAndSize(
                                         NULL, (Py_ssize_t)((docs.n + 1) * sizeof(int64_t)))
                                   : NULL;
        if (tokens && offsets) {
            lmio_batch_copy(batch, (uint32_t *)PyByteArray_AS_STRING(tokens),
                            (int64_t *)PyByteArray_AS_STRING(offsets));
            res = PyTuple_Pack(2, tokens, offsets);
        }
        Py_XDECREF(tokens);
        Py_XDECREF(offsets);
    }
    lmio_batch_free(batch);
    byte_list_free(&docs);
    return res;
}

/* A C-contiguous buffer of native int64 (numpy int64, array('q'), memoryview.cast('q')). */
static int is_i64_buffer(const Py_buffer *view) {
    if (view->itemsize != 8 || view->ndim > 1 || !view->format) return 0;
    const char *f = view->format;
    if (*f == '@' || *f == '=') f++;
    return (f[0] == 'q' || (f[0] == 'l' && sizeof(long) == 8)) && f[1] == 0;
}

/* (tokens, offsets) of a batch, with `token` appended after the documents flagged in `append`
 * (NULL: none) and the ids stored in `itemsize` bytes. */
static PyObject *batch_result_as(lmio_batch *batch, size_t n, const uint8_t *append,
                                 uint32_t token, int itemsize) {
    size_t total = lmio_batch_total(batch);
    for (size_t i = 0; append && i < n; i++) total += append[i] != 0;
    PyObject *tokens = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(total * (size_t)itemsize));
    PyObject *offsets =
        tokens ? PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)((n + 1) * sizeof(int64_t)))
               : NULL;
    PyObject *res = NULL;
    if (tokens && offsets) {
        uint32_t bad = 0;
        if (lmio_batch_copy_as(batch, append, token, itemsize, PyByteArray_AS_STRING(tokens),
                               (int64_t *)PyByteArray_AS_STRING(offsets), &bad))
            PyErr_Format(PyExc_ValueError, "token id %lu does not fit in %d bytes",
                         (unsigned long)bad, itemsize);
        else
            res = PyTuple_Pack(2, tokens, offsets);
    }
    Py_XDECREF(tokens);
    Py_XDECREF(offsets);
    return res;
}

static PyObject *Encoder_encode_utf8_batch(EncoderObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"buffer", "offsets", "num_threads", "append", "token", "itemsize",
                             NULL};
    PyObject *text_obj, *offs_obj, *append_obj = Py_None;
    int nthreads, itemsize = 4;
    unsigned int token = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOi|$OIi:encode_utf8_batch", kwlist, &text_obj,
                                     &offs_obj, &nthreads, &append_obj, &token, &itemsize))
        return NULL;
    if (encoder_ready(self, 1)) return NULL;
    if (itemsize != 2 && itemsize != 4)
        return PyErr_Format(PyExc_ValueError, "itemsize must be 2 or 4, got %d", itemsize);
    Py_buffer text, offs, flags = {0};
    if (PyObject_GetBuffer(text_obj, &text, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    if (PyObject_GetBuffer(offs_obj, &offs, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) {
        PyBuffer_Release(&text);
        return NULL;
    }
    PyObject *res = NULL;
    const uint8_t **ptrs = NULL;
    size_t *lens = NULL;
    lmio_batch *batch = NULL;
    if (!is_i64_buffer(&offs) || offs.len < 8) {
        PyErr_SetString(PyExc_TypeError, "offsets must be a buffer of at least one int64");
        goto done;
    }
    const int64_t *o = offs.buf;
    size_t n = (size_t)offs.len / 8 - 1;
    if (append_obj != Py_None) {
        if (PyObject_GetBuffer(append_obj, &flags, PyBUF_C_CONTIGUOUS) < 0) goto done;
        if ((size_t)flags.len != n || flags.itemsize != 1) {
            PyErr_Format(PyExc_ValueError, "append must hold one byte per document (%zu), got %zd",
                         n, flags.len);
            goto done;
        }
    }
    for (size_t i = 0; i <= n; i++) {
        if (o[i] < 0 || o[i] > (int64_t)text.len || (i && o[i] < o[i - 1])) {
            PyErr_Format(PyExc_ValueError,
                         "offsets must be non-decreasing and within the buffer (0 .. %zd); "
                         "offsets[%zu] is %lld",
                         text.len, i, (long long)o[i]);
            goto done;
        }
    }
    ptrs = PyMem_Malloc((n ? n : 1) * sizeof(*ptrs));
    lens = PyMem_Malloc((n ? n : 1) * sizeof(*lens));
    if (!ptrs || !lens) {
        PyErr_NoMemory();
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        ptrs[i] = (const uint8_t *)text.buf + o[i];
        lens[i] = (size_t)(o[i + 1] - o[i]);
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = lmio_encode_batch(self->enc, ptrs, lens, n, NULL, nthreads, &batch);
    Py_END_ALLOW_THREADS
    res = rc ? raise_status(rc, NULL)
             : batch_result_as(batch, n, flags.buf, (uint32_t)token, itemsize);
done:
    lmio_batch_free(batch);
    PyMem_Free(ptrs);
    PyMem_Free(lens);
    if (flags.obj) PyBuffer_Release(&flags);
    PyBuffer_Release(&text);
    PyBuffer_Release(&offs);
    return res;
}

static PyObject *Encoder_encode_pieces(EncoderObject *self, PyObject *pieces) {
    if (encoder_ready(self, 0)) return NULL;
    byte_list bl;
    if (byte_list_init(&bl, pieces, 0, "pieces")) return NULL;
    lmio_u32vec out = {0};
    int rc = LMIO_OK;
    for (size_t i = 0; i < bl.n && !rc; i++)
        rc = lmio_encode_piece(self->enc, bl.ptrs[i], bl.lens[i], &out);
    PyObject *res = rc ? raise_status(rc, NULL) : ids_to_list(&out, self->ints, self->n_ints);
    lmio_u32vec_free(&out);
    byte_list_free(&bl);
    return res;
}

/* A buffer of native uint32 (array('I'), numpy uint32, memoryview.cast('I')). */
static int is_u32_buffer(const Py_buffer *view) {
    if (view->itemsize != 4 || view->ndim > 1 || !view->format) return 0;
    const char *f = view->format;
    if (*f == '@' || *f == '=') f++;
    return (f[0] == 'I' || (f[0] == 'L' && sizeof(unsigned long) == 4)) && f[1] == 0;
}

static PyObject *Encoder_decode_bytes(EncoderObject *self, PyObject *ids) {
    if (encoder_ready(self, 0)) return NULL;
    lmio_bytevec out = {0};
    uint32_t bad = 0;
    int rc = LMIO_OK;
    Py_buffer view;
    if (PyObject_CheckBuffer(ids) &&
        PyObject_GetBuffer(ids, &view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) == 0) {
        if (is_u32_buffer(&view)) {
            rc = lmio_decode(self->enc, view.buf, (size_t)(view.len / 4), &out, &bad);
            PyBuffer_Release(&view);
            goto done;
        }
        PyBuffer_Release(&view);
    }
    PyErr_Clear();
    PyObject *seq = PySequence_Fast(ids, "ids must be a sequence of ints or a buffer of uint32");
    if (!seq) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    uint32_t *buf = PyMem_Malloc((n ? (size_t)n : 1) * sizeof(uint32_t));
    if (!buf) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t v = as_u32(PySequence_Fast_GET_ITEM(seq, i), "token id");
        if (v < 0) {
            if (PyErr_ExceptionMatches(PyExc_ValueError)) {
                PyErr_Clear();
                PyErr_Format(PyExc_ValueError, "unknown token id %R at index %zd",
                             PySequence_Fast_GET_ITEM(seq, i), i);
            }
            PyMem_Free(buf);
            Py_DECREF(seq);
            lmio_bytevec_free(&out);
            return NULL;
        }
        buf[i] = (uint32_t)v;
    }
    rc = lmio_decode(self->enc, buf, (size_t)n, &out, &bad);
    PyMem_Free(buf);
    Py_DECREF(seq);
done:;
    PyObject *res = NULL;
    if (rc == LMIO_EINVAL)
        PyErr_Format(PyExc_ValueError, "unknown token id %lu: it is neither a mergeable token "
                     "(0 .. %zu) nor a special token", (unsigned long)bad,
                     lmio_encoder_n_vocab(self->enc) - 1);
    else if (rc)
        raise_status(rc, NULL);
    else
        res = PyBytes_FromStringAndSize(out.data ? (const char *)out.data : "",
                                        (Py_ssize_t)out.len);
    lmio_bytevec_free(&out);
    return res;
}

static PyObject *Encoder_pretokenize(EncoderObject *self, PyObject *text) {
    if (encoder_ready(self, 1)) return NULL;
    size_t n;
    const uint8_t *s = utf8_of(text, &n, "text");
    if (!s) return NULL;
    lmio_scanner scan = lmio_scanner_for(lmio_encoder_pattern(self->enc));
    PyObject *list = PyList_New(0);
    for (size_t i = 0; list && i < n;) {
        size_t j = scan(s, n, i);
        PyObject *piece = PyUnicode_DecodeUTF8((const char *)s + i, (Py_ssize_t)(j - i), "strict");
        if (!piece || PyList_Append(list, piece)) {
            Py_XDECREF(piece);
            Py_CLEAR(list);
            break;
        }
        Py_DECREF(piece);
        i = j;
    }
    return list;
}

static PyObject *Encoder_get_n_vocab(EncoderObject *self, void *closure) {
    (void)closure;
    if (encoder_ready(self, 0)) return NULL;
    return PyLong_FromSsize_t(self->n_vocab);
}

static PyMethodDef Encoder_methods[] = {
    {"encode_ordinary", (PyCFunction)Encoder_encode_ordinary, METH_O,
     "encode_ordinary(text) -> list[int]: tokens of text, special tokens not recognised."},
    {"encode", (PyCFunction)(void (*)(void))Encoder_encode, METH_VARARGS | METH_KEYWORDS,
     "encode(text, allowed_special) -> list[int]: the allowed special tokens become their ids."},
    {"encode_batch", (PyCFunction)(void (*)(void))Encoder_encode_batch,
     METH_VARARGS | METH_KEYWORDS,
     "encode_batch(texts, allowed_special, num_threads) -> (tokens, offsets): native uint32 "
     "tokens and int64 offsets (len(texts) + 1) as bytearrays, encoded on native threads."},
    {"encode_utf8_batch", (PyCFunction)(void (*)(void))Encoder_encode_utf8_batch,
     METH_VARARGS | METH_KEYWORDS,
     "encode_utf8_batch(buffer, offsets, num_threads, *, append=None, token=0, itemsize=4) -> "
     "(tokens, offsets): like encode_batch, for documents given as UTF-8 bytes "
     "buffer[offsets[i]:offsets[i + 1]] (int64 offsets); no special tokens are recognised. "
     "`token` is appended after each document flagged in `append` (one byte each), and the "
     "ids are stored in itemsize (2 or 4) bytes."},
    {"encode_pieces", (PyCFunction)Encoder_encode_pieces, METH_O,
     "encode_pieces(pieces) -> list[int]: BPE of pieces already split (custom patterns)."},
    {"decode_bytes", (PyCFunction)Encoder_decode_bytes, METH_O,
     "decode_bytes(ids) -> bytes: ids is a sequence of ints or a buffer of uint32."},
    {"pretokenize", (PyCFunction)Encoder_pretokenize, METH_O,
     "pretokenize(text) -> list[str]: the scanner's pieces."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Encoder_getset[] = {
    {"n_vocab", (getter)Encoder_get_n_vocab, NULL, "One more than the largest id.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject EncoderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lmio.tokenizer._native.Encoder",
    .tp_basicsize = sizeof(EncoderObject),
    .tp_dealloc = (destructor)Encoder_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Encoder(ranks, special_tokens, pattern): byte-level BPE with tiktoken semantics.",
    .tp_methods = Encoder_methods,
    .tp_getset = Encoder_getset,
    .tp_init = (initproc)Encoder_init,
    .tp_new = PyType_GenericNew,
};

/* ------------------------------------------------------------------ WordCounter */

typedef struct {
    PyObject_HEAD
    lmio_wordcount *wc;
    int busy; /* a call runs without the GIL: refuse concurrent use from other threads */
} WordCounterObject;

static void WordCounter_dealloc(WordCounterObject *self) {
    lmio_wordcount_free(self->wc);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int WordCounter_init(WordCounterObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"pattern", "special_tokens", NULL};
    PyObject *pattern_obj, *specials;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO:WordCounter", kwlist, &pattern_obj,
                                     &specials))
        return -1;
    int pattern;
    if (parse_pattern(pattern_obj, &pattern)) return -1;
    if (self->wc) {
        PyErr_SetString(PyExc_RuntimeError, "WordCounter is already initialised");
        return -1;
    }
    byte_list sp;
    if (byte_list_init(&sp, specials, 1, "special_tokens")) return -1;
    char err[256] = {0};
    int rc = lmio_wordcount_new(pattern, sp.ptrs, sp.lens, sp.n, &self->wc, err, sizeof(err));
    byte_list_free(&sp);
    if (rc) {
        raise_status(rc, err);
        return -1;
    }
    return 0;
}

static int counter_acquire(WordCounterObject *self) {
    if (!self->wc) {
        PyErr_SetString(PyExc_RuntimeError, "WordCounter is not initialised");
        return -1;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "WordCounter is in use by another thread");
        return -1;
    }
    self->busy = 1;
    return 0;
}

static PyObject *WordCounter_add_texts(WordCounterObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"texts", "num_threads", NULL};
    PyObject *texts;
    int nthreads;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "Oi:add_texts", kwlist, &texts, &nthreads))
        return NULL;
    if (counter_acquire(self)) return NULL;
    if (lmio_wordcount_pattern(self->wc) == LMIO_PATTERN_CUSTOM) {
        self->busy = 0;
        PyErr_SetString(PyExc_ValueError,
                        "this WordCounter has a custom pattern (-1): split the text in Python and "
                        "use add_pieces()");
        return NULL;
    }
    byte_list docs;
    if (byte_list_init(&docs, texts, 1, "texts")) {
        self->busy = 0;
        return NULL;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = lmio_wordcount_add_texts(self->wc, docs.ptrs, docs.lens, docs.n, nthreads);
    Py_END_ALLOW_THREADS
    byte_list_free(&docs);
    self->busy = 0;
    if (rc) return raise_status(rc, NULL);
    Py_RETURN_NONE;
}

static PyObject *WordCounter_add_pieces(WordCounterObject *self, PyObject *pieces) {
    if (counter_acquire(self)) return NULL;
    byte_list bl;
    if (byte_list_init(&bl, pieces, 0, "pieces")) {
        self->busy = 0;
        return NULL;
    }
    int rc = lmio_wordcount_add_pieces(self->wc, bl.ptrs, bl.lens, bl.n);
    byte_list_free(&bl);
    self->busy = 0;
    if (rc) return raise_status(rc, NULL);
    Py_RETURN_NONE;
}

static PyObject *WordCounter_items(WordCounterObject *self, PyObject *unused) {
    (void)unused;
    if (counter_acquire(self)) return NULL;
    const lmio_wordtable *t = lmio_wordcount_table(self->wc);
    PyObject *list = PyList_New((Py_ssize_t)t->words.n);
    for (size_t k = 0; list && k < t->words.n; k++) {
        size_t len;
        const uint8_t *w = lmio_arena_str(&t->words, k, &len);
        PyObject *item = Py_BuildValue("(y#K)", (const char *)w, (Py_ssize_t)len,
                                       (unsigned long long)t->counts[k]);
        if (!item) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)k, item);
    }
    self->busy = 0;
    return list;
}

static Py_ssize_t WordCounter_len(WordCounterObject *self) {
    if (counter_acquire(self)) return -1;
    self->busy = 0;
    return (Py_ssize_t)lmio_wordcount_table(self->wc)->words.n;
}

static PyObject *WordCounter_get_total(WordCounterObject *self, void *closure) {
    (void)closure;
    if (counter_acquire(self)) return NULL;
    self->busy = 0;
    return PyLong_FromUnsignedLongLong(lmio_wordcount_table(self->wc)->total);
}

static PyMethodDef WordCounter_methods[] = {
    {"add_texts", (PyCFunction)(void (*)(void))WordCounter_add_texts,
     METH_VARARGS | METH_KEYWORDS,
     "add_texts(texts, num_threads): pre-tokenize and count, on native threads."},
    {"add_pieces", (PyCFunction)WordCounter_add_pieces, METH_O,
     "add_pieces(pieces): count words already split (custom patterns)."},
    {"items", (PyCFunction)WordCounter_items, METH_NOARGS,
     "items() -> list[tuple[bytes, int]]: the unique words and their counts."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef WordCounter_getset[] = {
    {"total", (getter)WordCounter_get_total, NULL, "Words counted, with multiplicity.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PySequenceMethods WordCounter_as_sequence = {.sq_length = (lenfunc)WordCounter_len};

static PyTypeObject WordCounterType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lmio.tokenizer._native.WordCounter",
    .tp_basicsize = sizeof(WordCounterObject),
    .tp_dealloc = (destructor)WordCounter_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "WordCounter(pattern, special_tokens): unique pre-tokenized words and counts.",
    .tp_methods = WordCounter_methods,
    .tp_getset = WordCounter_getset,
    .tp_as_sequence = &WordCounter_as_sequence,
    .tp_init = (initproc)WordCounter_init,
    .tp_new = PyType_GenericNew,
};

/* ------------------------------------------------------------------ train_bpe */

typedef struct {
    PyObject *callback;
    PyThreadState *saved; /* the released thread state, restored around each call */
} progress_ctx;

static int progress_trampoline(void *p, size_t n_merges) {
    progress_ctx *c = p;
    PyEval_RestoreThread(c->saved);
    PyObject *r = PyObject_CallFunction(c->callback, "n", (Py_ssize_t)n_merges);
    int stop = r == NULL;
    Py_XDECREF(r);
    if (!stop && PyErr_CheckSignals()) stop = 1; /* Ctrl-C stops training */
    c->saved = PyEval_SaveThread();
    return stop;
}

static PyObject *train_bpe(PyObject *module, PyObject *args, PyObject *kwds) {
    (void)module;
    static char *kwlist[] = {"counter", "byte_order", "target_tokens", "min_frequency", "progress",
                             NULL};
    PyObject *counter, *order_obj = NULL, *target_obj = NULL, *minf_obj = NULL;
    PyObject *progress = Py_None;
    /* keyword-only arguments cannot be required in a format string: checked below */
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!|$OOOO:train_bpe", kwlist, &WordCounterType,
                                     &counter, &order_obj, &target_obj, &minf_obj, &progress))
        return NULL;
    if (!order_obj || !target_obj || !minf_obj)
        return PyErr_Format(PyExc_TypeError,
                            "train_bpe() needs the keyword arguments byte_order, target_tokens "
                            "and min_frequency");
    if (!PyBytes_Check(order_obj) || PyBytes_GET_SIZE(order_obj) != 256)
        return PyErr_Format(PyExc_ValueError, "byte_order must be 256 bytes, got %R", order_obj);
    Py_ssize_t target = PyNumber_AsSsize_t(target_obj, PyExc_OverflowError);
    if (target == -1 && PyErr_Occurred()) return NULL;
    if (target < 0)
        return PyErr_Format(PyExc_ValueError, "target_tokens must be >= 0, got %zd", target);
    PyObject *minf_index = PyNumber_Index(minf_obj);
    if (!minf_index) return NULL;
    unsigned long long min_frequency = PyLong_AsUnsignedLongLong(minf_index);
    Py_DECREF(minf_index);
    if (min_frequency == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Format(PyExc_ValueError, "min_frequency must be an int >= 0, got %R", minf_obj);
        return NULL;
    }
    if (progress != Py_None && !PyCallable_Check(progress))
        return PyErr_Format(PyExc_TypeError, "progress must be callable or None");
    WordCounterObject *wc = (WordCounterObject *)counter;
    if (counter_acquire(wc)) return NULL;
    uint8_t byte_order[256];
    memcpy(byte_order, PyBytes_AS_STRING(order_obj), 256);
    progress_ctx ctx = {progress, NULL};
    lmio_merge *merges = NULL;
    size_t n = 0;
    char err[256] = {0};
    int rc;
    ctx.saved = PyEval_SaveThread();
    rc = lmio_train_bpe(lmio_wordcount_table(wc->wc), byte_order, (size_t)target,
                        (uint64_t)min_frequency, progress == Py_None ? NULL : progress_trampoline,
                        &ctx, 256, &merges, &n, err, sizeof(err));
    PyEval_RestoreThread(ctx.saved);
    wc->busy = 0;
    if (rc) return raise_status(rc, err);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *t = Py_BuildValue("(III)", merges[i].left, merges[i].right, merges[i].id);
        if (!t) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    free(merges);
    return list;
}

/* ------------------------------------------------------------------ prepare_lines */

static PyObject *i64_bytes(const lmio_i64vec *v) {
    return PyBytes_FromStringAndSize(v->data ? (const char *)v->data : "",
                                     (Py_ssize_t)(v->len * sizeof(int64_t)));
}

static PyObject *vec_bytes(const lmio_bytevec *v) {
    return PyBytes_FromStringAndSize(v->data ? (const char *)v->data : "", (Py_ssize_t)v->len);
}

static size_t as_limit(long long v) { return v < 0 ? SIZE_MAX : (size_t)v; }

static PyObject *prepare_lines(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer block, field;
    int mode, digest;
    unsigned int steps;
    long long max_line_bytes, max_chars;
    if (!PyArg_ParseTuple(args, "y*iy*IpLL:prepare_lines", &block, &mode, &field, &steps, &digest,
                          &max_line_bytes, &max_chars))
        return NULL;
    PyObject *res = NULL;
    if (mode != LMIO_PREP_JSONL && mode != LMIO_PREP_TEXT_LINES) {
        PyErr_Format(PyExc_ValueError, "mode must be 0 (JSON lines) or 1 (text lines), got %d",
                     mode);
    } else if (steps & ~(unsigned)(LMIO_CLEAN_CONTROL | LMIO_CLEAN_NFC | LMIO_CLEAN_WHITESPACE)) {
        PyErr_Format(PyExc_ValueError, "unknown cleaning steps %#x", steps);
    } else {
        lmio_prep_options opt = {
            .mode = mode, .field = field.buf, .field_len = (size_t)field.len, .steps = steps,
            .digest = digest, .max_line_bytes = as_limit(max_line_bytes),
            .max_chars = as_limit(max_chars),
        };
        lmio_prep_result r;
        int rc;
        Py_BEGIN_ALLOW_THREADS
        rc = lmio_prepare_lines(block.buf, (size_t)block.len, &opt, &r);
        Py_END_ALLOW_THREADS
        if (rc) {
            raise_status(rc, NULL);
        } else if (r.invalid_utf8) {
            res = Py_NewRef(Py_None);
        } else {
            res = Py_BuildValue("(nNNNNNNN(nnnn))", (Py_ssize_t)r.n, vec_bytes(&r.status),
                                i64_bytes(&r.line_start), i64_bytes(&r.line_end),
                                i64_bytes(&r.text_end), i64_bytes(&r.chars),
                                vec_bytes(&r.digests), vec_bytes(&r.text),
                                (Py_ssize_t)r.documents, (Py_ssize_t)r.cleaned,
                                (Py_ssize_t)r.control_chars, (Py_ssize_t)r.whitespace);
        }
        lmio_prep_result_free(&r);
    }
    PyBuffer_Release(&block);
    PyBuffer_Release(&field);
    return res;
}

/* ------------------------------------------------------------------ Digest */

typedef struct {
    PyObject_HEAD
    lmio_digest_state state;
    int busy; /* an update runs without the GIL: refuse concurrent use from other threads */
} DigestObject;

static int digest_claim(DigestObject *self) {
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "this Digest is in use by another thread");
        return -1;
    }
    return 0;
}

static int Digest_init(DigestObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, ":Digest", kwlist)) return -1;
    if (digest_claim(self)) return -1;
    lmio_digest_init(&self->state);
    return 0;
}

static PyObject *Digest_update(DigestObject *self, PyObject *data) {
    if (digest_claim(self)) return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    if (view.len > RELEASE_GIL_BYTES) {
        self->busy = 1;
        Py_BEGIN_ALLOW_THREADS
        lmio_digest_update(&self->state, view.buf, (size_t)view.len);
        Py_END_ALLOW_THREADS
        self->busy = 0;
    } else {
        lmio_digest_update(&self->state, view.buf, (size_t)view.len);
    }
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

static PyObject *Digest_digest(DigestObject *self, PyObject *unused) {
    (void)unused;
    if (digest_claim(self)) return NULL;
    uint8_t out[LMIO_DIGEST_SIZE];
    lmio_digest_final(&self->state, out);
    return PyBytes_FromStringAndSize((const char *)out, LMIO_DIGEST_SIZE);
}

static PyMethodDef Digest_methods[] = {
    {"update", (PyCFunction)Digest_update, METH_O, "update(data): more bytes."},
    {"digest", (PyCFunction)Digest_digest, METH_NOARGS,
     "digest() -> bytes: the 16-byte digest of the bytes so far."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject DigestType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lmio.tokenizer._native.Digest",
    .tp_basicsize = sizeof(DigestObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Digest(): lmio prepare's dedup digest (XXH3-128, csrc/digest.h), streaming.",
    .tp_methods = Digest_methods,
    .tp_init = (initproc)Digest_init,
    .tp_new = PyType_GenericNew,
};

/* ------------------------------------------------------------------ DigestSet */

typedef struct {
    PyObject_HEAD
    lmio_digest_set set;
} DigestSetObject;

static int DigestSet_init(DigestSetObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, ":DigestSet", kwlist)) return -1;
    lmio_digest_set_free(&self->set);
    return 0;
}

static void DigestSet_dealloc(DigestSetObject *self) {
    lmio_digest_set_free(&self->set);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *DigestSet_add(DigestSetObject *self, PyObject *data) {
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    PyObject *fresh = NULL;
    if (view.len % LMIO_DIGEST_SIZE) {
        PyErr_Format(PyExc_ValueError, "digests are %d bytes each; got %zd bytes",
                     LMIO_DIGEST_SIZE, view.len);
    } else if ((fresh = PyBytes_FromStringAndSize(NULL, view.len / LMIO_DIGEST_SIZE))) {
        /* the GIL stays held: a set is one thread's, and a call takes microseconds */
        if (lmio_digest_set_add(&self->set, view.buf, (size_t)view.len / LMIO_DIGEST_SIZE,
                                (uint8_t *)PyBytes_AS_STRING(fresh))) {
            Py_CLEAR(fresh);
            PyErr_NoMemory();
        }
    }
    PyBuffer_Release(&view);
    return fresh;
}

static Py_ssize_t DigestSet_len(DigestSetObject *self) { return (Py_ssize_t)self->set.n; }

static PyMethodDef DigestSet_methods[] = {
    {"add", (PyCFunction)DigestSet_add, METH_O,
     "add(digests) -> bytes: for each 16-byte digest, 1 if it is new (not in the set, nor "
     "earlier in `digests`), else 0; the new ones are added."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods DigestSet_as_sequence = {.sq_length = (lenfunc)DigestSet_len};

static PyTypeObject DigestSetType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lmio.tokenizer._native.DigestSet",
    .tp_basicsize = sizeof(DigestSetObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "DigestSet(): the digests seen so far, for exact dedup (csrc/digest.h).",
    .tp_methods = DigestSet_methods,
    .tp_as_sequence = &DigestSet_as_sequence,
    .tp_init = (initproc)DigestSet_init,
    .tp_dealloc = (destructor)DigestSet_dealloc,
    .tp_new = PyType_GenericNew,
};

static PyObject *digest(PyObject *module, PyObject *data) {
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    uint8_t out[LMIO_DIGEST_SIZE];
    if (view.len > RELEASE_GIL_BYTES) {
        Py_BEGIN_ALLOW_THREADS
        lmio_digest(view.buf, (size_t)view.len, out);
        Py_END_ALLOW_THREADS
    } else {
        lmio_digest(view.buf, (size_t)view.len, out);
    }
    PyBuffer_Release(&view);
    return PyBytes_FromStringAndSize((const char *)out, LMIO_DIGEST_SIZE);
}

/* ------------------------------------------------------------------ module */

static PyObject *abi_version(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyLong_FromLong(lmio_core_abi_version());
}

static PyObject *unicode_flags(PyObject *self, PyObject *arg) {
    (void)self;
    unsigned long cp = PyLong_AsUnsignedLong(arg);
    if (cp == (unsigned long)-1 && PyErr_Occurred()) return NULL;
    return PyLong_FromUnsignedLong(lmio_uc_flags(cp > 0x110000 ? 0x110000 : (uint32_t)cp));
}

static PyMethodDef native_methods[] = {
    {"abi_version", abi_version, METH_NOARGS, "ABI version of the C core."},
    {"_unicode_flags", unicode_flags, METH_O,
     "_unicode_flags(code_point) -> int: the scanners' class flags (csrc/unicode.h), for tests."},
    {"digest", digest, METH_O,
     "digest(data) -> bytes: lmio prepare's dedup digest of the bytes (XXH3-128, 16 bytes)."},
    {"prepare_lines", prepare_lines, METH_VARARGS,
     "prepare_lines(block, mode, field, steps, digest, max_line_bytes, max_chars) -> tuple | "
     "None: lmio prepare's C pass over whole lines (csrc/prepare.h); None when the block is not "
     "valid UTF-8."},
    {"train_bpe", (PyCFunction)(void (*)(void))train_bpe, METH_VARARGS | METH_KEYWORDS,
     "train_bpe(counter, *, byte_order, target_tokens, min_frequency, progress=None) -> "
     "list[tuple[int, int, int]]: HF BpeTrainer's merges (left, right, new id), in order."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT, "lmio.tokenizer._native", "lmio's C core (private).", -1, native_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void) {
    if (PyType_Ready(&EncoderType) < 0 || PyType_Ready(&WordCounterType) < 0 ||
        PyType_Ready(&DigestType) < 0 || PyType_Ready(&DigestSetType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&native_module);
    if (!m) return NULL;
    if (PyModule_AddIntConstant(m, "PATTERN_GPT2", LMIO_PATTERN_GPT2) ||
        PyModule_AddIntConstant(m, "PATTERN_GPT4", LMIO_PATTERN_GPT4) ||
        PyModule_AddIntConstant(m, "PATTERN_O200K", LMIO_PATTERN_O200K) ||
        PyModule_AddIntConstant(m, "PATTERN_LLAMA3", LMIO_PATTERN_LLAMA3)) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&EncoderType);
    if (PyModule_AddObject(m, "Encoder", (PyObject *)&EncoderType) < 0) {
        Py_DECREF(&EncoderType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&WordCounterType);
    if (PyModule_AddObject(m, "WordCounter", (PyObject *)&WordCounterType) < 0) {
        Py_DECREF(&WordCounterType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&DigestType);
    if (PyModule_AddObject(m, "Digest", (PyObject *)&DigestType) < 0) {
        Py_DECREF(&DigestType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&DigestSetType);
    if (PyModule_AddObject(m, "DigestSet", (PyObject *)&DigestSetType) < 0) {
        Py_DECREF(&DigestSetType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
