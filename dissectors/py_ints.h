/* Reading Python ints in C kernels without a call for the common small ones (shared by the
 * SmartLPR kernels through smartlpr_wire.h and by sniffer/_lean_count.c). */
#ifndef CAMSHARK_PY_INTS_H
#define CAMSHARK_PY_INTS_H

#include <Python.h>
#include <stdint.h>

/* An exact int's value read straight from the object when it fits 64 bits cheaply: 1 (in
 * *out); 0 for any other int, which the C API then reads (value must be an exact int).
 * CPython 3.11: |ob_size| 30-bit digits, least significant first, the sign in ob_size's; up
 * to three of them (below 2**63: header fields, capture times in ns). 3.12 on: compact ints. */
static inline __attribute__((always_inline)) int small_int64(PyObject *value, int64_t *out)
{
#if PY_VERSION_HEX < 0x030C0000 && PyLong_SHIFT == 30
    Py_ssize_t size = Py_SIZE(value);
    Py_ssize_t digits = size < 0 ? -size : size;
    const digit *d = ((PyLongObject *)value)->ob_digit;
    uint64_t magnitude;
    if (digits == 0) {
        magnitude = 0;
    }
    else if (digits == 1) {
        magnitude = d[0];
    }
    else if (digits == 2) {
        magnitude = d[0] | (uint64_t)d[1] << 30;
    }
    else if (digits == 3 && d[2] < 8) {
        magnitude = d[0] | (uint64_t)d[1] << 30 | (uint64_t)d[2] << 60;
    }
    else {
        return 0;
    }
    *out = size < 0 ? -(int64_t)magnitude : (int64_t)magnitude;
    return 1;
#elif PY_VERSION_HEX >= 0x030C0000
    if (PyUnstable_Long_IsCompact((PyLongObject *)value)) {
        *out = (int64_t)PyUnstable_Long_CompactValue((PyLongObject *)value);
        return 1;
    }
    return 0;
#else
    (void)value;
    (void)out;
    return 0;
#endif
}

#endif
