/* camshark's optional byte-level kernels; dissectors/speedups.py has the same API in Python.
 *
 * xor_bcc(data) -> int
 *     XOR of every byte of a bytes-like object (SmartLPR's Bcc).
 * smartlpr_scan(buf, pos, extra, max_frame, max_code) -> (headers, end)
 *     From buf[pos], cut consecutive SmartLPR frames whose length is Size + extra, as long as
 *     each has an Stx, a plausible header (Type and Version <= max_code), a length in
 *     [19, max_frame] that lies wholly in buf, and an Etx at its end. Stops at the first
 *     position where any of these fails and returns it as end. headers is a list of
 *     (offset, length, unit_id, size, type, version, id, bcc_ok) tuples.
 *
 * Every length is bounded by the buffer: any input is safe.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include "smartlpr_wire.h"

static PyObject *speedups_xor_bcc(PyObject *module, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    unsigned char value = xor_bytes((const unsigned char *)view.buf, view.len);
    PyBuffer_Release(&view);
    return PyLong_FromLong(value);
}

/* An int argument's value (-1 with an exception when it is none or too big). */
static int int_arg(PyObject *arg, long long *value)
{
    *value = PyLong_AsLongLong(arg);
    return !(*value == -1 && PyErr_Occurred());
}

static PyObject *speedups_smartlpr_scan(PyObject *module, PyObject *const *args,
                                        Py_ssize_t nargs)
{
    /* parsed by hand: PyArg_ParseTuple cost as much as cutting a chunk's frames */
    long long pos_arg, extra, max_frame, max_code;
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "smartlpr_scan takes 5 arguments");
        return NULL;
    }
    if (!int_arg(args[1], &pos_arg) || !int_arg(args[2], &extra) ||
        !int_arg(args[3], &max_frame) || !int_arg(args[4], &max_code)) {
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    Py_ssize_t pos = (Py_ssize_t)pos_arg;
    if ((long long)pos != pos_arg) {
        pos = -1; /* refused below */
    }
    const unsigned char *buf = (const unsigned char *)view.buf;
    Py_ssize_t total = view.len;
    if (pos < 0 || pos > total) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "pos outside the buffer");
        return NULL;
    }
    PyObject *headers = PyList_New(0);
    if (headers == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    pos = scan_frames(buf, pos, total, extra, max_frame, max_code, headers);
    if (pos < 0) {
        Py_DECREF(headers);
        PyBuffer_Release(&view);
        return NULL;
    }
    PyBuffer_Release(&view);
    PyObject *end = PyLong_FromSsize_t(pos);
    if (end == NULL) {
        Py_DECREF(headers);
        return NULL;
    }
    PyObject *result = PyTuple_Pack(2, headers, end);
    Py_DECREF(headers);
    Py_DECREF(end);
    return result;
}

static PyMethodDef speedups_methods[] = {
    {"xor_bcc", speedups_xor_bcc, METH_O, "XOR of every byte of a bytes-like object."},
    {"smartlpr_scan", (PyCFunction)(void (*)(void))speedups_smartlpr_scan, METH_FASTCALL,
     "Cut consecutive SmartLPR frames of one Size reading: (headers, end)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT, "dissectors._speedups", "camshark's optional C kernels.", -1,
    speedups_methods,
};

PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&speedups_module); }
