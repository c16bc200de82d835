/* The one binding between Python and the plain-C core in csrc/. Glue only: no algorithms here. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "lmio_core.h"

static PyObject *abi_version(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyLong_FromLong(lmio_core_abi_version());
}

static PyMethodDef native_methods[] = {
    {"abi_version", abi_version, METH_NOARGS, "ABI version of the C core."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT, "lmio.tokenizer._native", "lmio's C core (private).", -1, native_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&native_module); }
