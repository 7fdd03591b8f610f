/* DualCam's optional C kernels; dissectors/dualcam/speedups.py has the same API in Python.
 *
 * crc16_kermit(data, crc=0) -> int
 *     CRC-16/KERMIT (poly 0x1021 reflected, no xorout) of data, continuing from crc: folded
 *     with PCLMULQDQ where the CPU has it (CAMSHARK_NO_PCLMUL=1 turns it off), else
 *     slicing-by-8; the payload copy of take_data_frames rides on the same loads.
 * scan_data_frames(buf, pos) -> (end, count, last, pending)
 *     From buf[pos], walk consecutive device DATA frames (00 04 len:u16, 3 <= len <= 0x402)
 *     that lie wholly in buf. end: index after the last one; count: how many; last: index of
 *     the last one (pos if none); pending: 4 + len of a DATA frame at end whose bytes are not
 *     all there yet, else 0.
 * take_data_frames(run, pos, out, crc, room, max_frames, full, start, arrival_offsets,
 *                  arrival_times, last_ns, stall_ns, gaps)
 *     -> (taken, pos, crc, last_ns, first_ns)
 *     From run[pos], take consecutive DATA frames (as above) whose CRC continues the chain
 *     from crc, appending each payload to the bytearray out and, for every frame after the
 *     first ever (last_ns not None), its gap to the previous one in ms to the list gaps.
 *     Stops before the first frame that is not a well-formed DATA frame wholly in run, would
 *     take more than room payload bytes in all, arrives more than stall_ns after the
 *     previous one, fails the CRC, or carries fewer than full bytes without being frame
 *     number max_frames; and after max_frames frames. A frame's arrival time is that of the
 *     chunk holding its first byte: arrival_times[i] applies from stream offset
 *     arrival_offsets[i] on, run[0] being at stream offset start. first_ns is the time of
 *     the first frame taken (None if none).
 *
 * Every length is bounded by the buffer: any input is safe. Every decision about a frame
 * that is not taken stays in Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DATA_CMD 0x04
#define HEADER 4
#define MIN_LEN 3
#define MAX_LEN 0x0402

static uint16_t kermit[8][256];

/* Slicing-by-8; copies the bytes to dest on the way when dest is not NULL (one pass). */
static uint16_t crc_copy_table(uint16_t crc, const unsigned char *p, Py_ssize_t n,
                               unsigned char *dest)
{
    while (n >= 8) {
        if (dest != NULL) {
            memcpy(dest, p, 8);
            dest += 8;
        }
        uint32_t low = (uint32_t)(crc ^ ((uint32_t)p[0] | ((uint32_t)p[1] << 8)));
        crc = (uint16_t)(kermit[7][low & 0xFF] ^ kermit[6][low >> 8] ^ kermit[5][p[2]] ^
                         kermit[4][p[3]] ^ kermit[3][p[4]] ^ kermit[2][p[5]] ^
                         kermit[1][p[6]] ^ kermit[0][p[7]]);
        p += 8;
        n -= 8;
    }
    if (dest != NULL && n > 0) {
        memcpy(dest, p, (size_t)n);
    }
    while (n-- > 0) {
        crc = (uint16_t)((crc >> 8) ^ kermit[0][(crc ^ *p++) & 0xFF]);
    }
    return crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_FOLD 1

/* Carry-less folding (PCLMULQDQ), 16 bytes at a time, of the bit-reflected message: a
 * 128-bit block H = Hh x^64 + Hl before 128 more bits is congruent mod P to
 * Hh (x^192 mod P) + Hl (x^128 mod P), which has fewer than 80 bits and is XORed into the
 * next block. A product of two reflected 64-bit values comes out one bit up, hence
 * x^191 and x^127. The last block left is congruent to the message: its table CRC from
 * 0 is the message's (the register was XORed into the first bytes, as the table does). */
static uint64_t fold_constants[4];
static int use_fold;

static uint64_t reflected_x_power(int exponent)
{
    uint32_t value = 1; /* x^exponent mod P, P = x^16 + x^12 + x^5 + 1 */
    for (int i = 0; i < exponent; i++) {
        value <<= 1;
        if (value & 0x10000) {
            value ^= 0x11021;
        }
    }
    uint64_t reflected = 0;
    for (int bit = 0; bit < 16; bit++) {
        if (value & (1u << bit)) {
            reflected |= (uint64_t)1 << (63 - bit);
        }
    }
    return reflected;
}

__attribute__((target("pclmul,sse2"))) static inline __m128i fold(__m128i block,
                                                                    __m128i constants)
{
    return _mm_xor_si128(_mm_clmulepi64_si128(block, constants, 0x00),
                         _mm_clmulepi64_si128(block, constants, 0x11));
}

__attribute__((target("pclmul,sse2"))) static inline __m128i load_copy(const unsigned char *p,
                                                                       unsigned char *dest)
{
    __m128i block = _mm_loadu_si128((const __m128i *)p);
    if (dest != NULL) {
        _mm_storeu_si128((__m128i *)dest, block);
    }
    return block;
}

/* n is a multiple of 16, at least 32. Four blocks are folded side by side (by 512 bits)
 * while 64 bytes remain, then into one, then one at a time. */
__attribute__((target("pclmul,sse2"))) static uint16_t
crc_copy_fold(uint16_t crc, const unsigned char *p, Py_ssize_t n, unsigned char *dest)
{
    const __m128i by_one = _mm_set_epi64x((long long)fold_constants[1],
                                          (long long)fold_constants[0]);
    const __m128i by_four = _mm_set_epi64x((long long)fold_constants[3],
                                           (long long)fold_constants[2]);
    __m128i block = _mm_xor_si128(load_copy(p, dest), _mm_cvtsi32_si128(crc));
    Py_ssize_t at = 16;
    if (n >= 128) {
        __m128i b1 = load_copy(p + 16, dest != NULL ? dest + 16 : NULL);
        __m128i b2 = load_copy(p + 32, dest != NULL ? dest + 32 : NULL);
        __m128i b3 = load_copy(p + 48, dest != NULL ? dest + 48 : NULL);
        for (at = 64; n - at >= 64; at += 64) {
            unsigned char *to = dest != NULL ? dest + at : NULL;
            block = _mm_xor_si128(fold(block, by_four), load_copy(p + at, to));
            b1 = _mm_xor_si128(fold(b1, by_four), load_copy(p + at + 16, to ? to + 16 : NULL));
            b2 = _mm_xor_si128(fold(b2, by_four), load_copy(p + at + 32, to ? to + 32 : NULL));
            b3 = _mm_xor_si128(fold(b3, by_four), load_copy(p + at + 48, to ? to + 48 : NULL));
        }
        block = _mm_xor_si128(fold(block, by_one), b1);
        block = _mm_xor_si128(fold(block, by_one), b2);
        block = _mm_xor_si128(fold(block, by_one), b3);
    }
    for (; at < n; at += 16) {
        block = _mm_xor_si128(fold(block, by_one),
                              load_copy(p + at, dest != NULL ? dest + at : NULL));
    }
    unsigned char last[16];
    _mm_storeu_si128((__m128i *)last, block);
    return crc_copy_table(0, last, 16, NULL);
}
#endif

/* CRC-16/KERMIT of p[0:n] from crc, copying the bytes to dest when it is not NULL. */
static uint16_t crc_copy(uint16_t crc, const unsigned char *p, Py_ssize_t n, unsigned char *dest)
{
#ifdef HAVE_FOLD
    if (use_fold && n >= 32) {
        Py_ssize_t head = n % 16; /* the table takes the odd bytes first */
        crc = crc_copy_table(crc, p, head, dest);
        return crc_copy_fold(crc, p + head, n - head, dest != NULL ? dest + head : NULL);
    }
#endif
    return crc_copy_table(crc, p, n, dest);
}

static void init_tables(void)
{
    for (int byte = 0; byte < 256; byte++) {
        uint16_t crc = (uint16_t)byte;
        for (int bit = 0; bit < 8; bit++) {
            crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0x8408) : (uint16_t)(crc >> 1);
        }
        kermit[0][byte] = crc;
    }
    for (int byte = 0; byte < 256; byte++) {
        for (int k = 1; k < 8; k++) {
            uint16_t prev = kermit[k - 1][byte];
            kermit[k][byte] = (uint16_t)((prev >> 8) ^ kermit[0][prev & 0xFF]);
        }
    }
#ifdef HAVE_FOLD
    fold_constants[0] = reflected_x_power(191);
    fold_constants[1] = reflected_x_power(127);
    fold_constants[2] = reflected_x_power(575);
    fold_constants[3] = reflected_x_power(511);
    __builtin_cpu_init();
    use_fold = __builtin_cpu_supports("pclmul") && getenv("CAMSHARK_NO_PCLMUL") == NULL;
#endif
}

/* Length (4 + len) of the DATA frame whose header is at buf[pos], or 0 if there is none. */
static Py_ssize_t data_frame(const unsigned char *buf, Py_ssize_t size, Py_ssize_t pos)
{
    if (size - pos < HEADER || buf[pos] != 0 || buf[pos + 1] != DATA_CMD) {
        return 0;
    }
    Py_ssize_t declared = ((Py_ssize_t)buf[pos + 2] << 8) | buf[pos + 3];
    if (declared < MIN_LEN || declared > MAX_LEN) {
        return 0;
    }
    return HEADER + declared;
}

static PyObject *dualcam_crc16_kermit(PyObject *module, PyObject *args)
{
    Py_buffer view;
    unsigned long crc = 0;
    if (!PyArg_ParseTuple(args, "y*|k", &view, &crc)) {
        return NULL;
    }
    uint16_t value = crc_copy((uint16_t)(crc & 0xFFFF), view.buf, view.len, NULL);
    PyBuffer_Release(&view);
    return PyLong_FromLong(value);
}

static PyObject *dualcam_scan_data_frames(PyObject *module, PyObject *args)
{
    Py_buffer view;
    Py_ssize_t pos;
    if (!PyArg_ParseTuple(args, "y*n", &view, &pos)) {
        return NULL;
    }
    const unsigned char *buf = view.buf;
    Py_ssize_t size = view.len;
    if (pos < 0 || pos > size) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "pos outside the buffer");
        return NULL;
    }
    Py_ssize_t count = 0, last = pos, pending = 0;
    for (;;) {
        Py_ssize_t length = data_frame(buf, size, pos);
        if (length == 0) {
            break;
        }
        if (length > size - pos) {
            pending = length;
            break;
        }
        last = pos;
        pos += length;
        count++;
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("(nnnn)", pos, count, last, pending);
}

/* A sequence of ints as a new C array (NULL with an exception set on failure). */
static long long *int_array(PyObject *seq, Py_ssize_t *count)
{
    PyObject *fast = PySequence_Fast(seq, "arrival offsets and times must be sequences");
    if (fast == NULL) {
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    long long *values = PyMem_Malloc(sizeof(long long) * (size_t)(n > 0 ? n : 1));
    if (values == NULL) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return NULL;
    }
    PyObject **items = PySequence_Fast_ITEMS(fast);
    for (Py_ssize_t i = 0; i < n; i++) {
        values[i] = PyLong_AsLongLong(items[i]);
        if (values[i] == -1 && PyErr_Occurred()) {
            PyMem_Free(values);
            Py_DECREF(fast);
            return NULL;
        }
    }
    Py_DECREF(fast);
    *count = n;
    return values;
}

static PyObject *dualcam_take_data_frames(PyObject *module, PyObject *args)
{
    Py_buffer view;
    Py_ssize_t pos, max_frames, full;
    PyObject *out, *offsets_arg, *times_arg, *last_arg, *gaps;
    unsigned long crc_arg;
    long long room, start, stall_ns;
    if (!PyArg_ParseTuple(args, "y*nO!kLnnLOOOLO!", &view, &pos, &PyByteArray_Type, &out,
                          &crc_arg, &room, &max_frames, &full, &start, &offsets_arg,
                          &times_arg, &last_arg, &stall_ns, &PyList_Type, &gaps)) {
        return NULL;
    }
    const unsigned char *buf = view.buf;
    Py_ssize_t size = view.len;
    long long *offsets = NULL, *times = NULL;
    Py_ssize_t n_offsets = 0, n_times = 0;
    PyObject *result = NULL;
    if (pos < 0 || pos > size) {
        PyErr_SetString(PyExc_ValueError, "pos outside the buffer");
        goto done;
    }
    int have_last = last_arg != Py_None;
    long long last_ns = 0;
    if (have_last) {
        last_ns = PyLong_AsLongLong(last_arg);
        if (last_ns == -1 && PyErr_Occurred()) {
            goto done;
        }
    }
    offsets = int_array(offsets_arg, &n_offsets);
    if (offsets == NULL) {
        goto done;
    }
    times = int_array(times_arg, &n_times);
    if (times == NULL) {
        goto done;
    }
    if (n_offsets != n_times) {
        PyErr_SetString(PyExc_ValueError, "arrival offsets and times differ in length");
        goto done;
    }
    /* room for the bytes this call may append, so the loop below never reallocates */
    Py_ssize_t space = size - pos;
    if (room < (long long)space) {
        space = room > 0 ? (Py_ssize_t)room : 0;
    }
    Py_ssize_t had = PyByteArray_GET_SIZE(out);
    if (PyByteArray_Resize(out, had + space) < 0) {
        goto done;
    }
    unsigned char *dest = (unsigned char *)PyByteArray_AS_STRING(out) + had;
    uint16_t crc = (uint16_t)(crc_arg & 0xFFFF);
    Py_ssize_t taken = 0, chunk = 0, appended = 0;
    long long first_ns = 0;
    while (taken < max_frames) {
        Py_ssize_t length = data_frame(buf, size, pos);
        if (length == 0 || length > size - pos) {
            break;
        }
        Py_ssize_t payload = length - HEADER - 2;
        if ((long long)(appended + payload) > room) {
            break;
        }
        if (payload < full && taken + 1 != max_frames) {
            break;
        }
        long long stream = start + pos;
        while (chunk + 1 < n_offsets && offsets[chunk + 1] <= stream) {
            chunk++;
        }
        long long now = n_times ? times[chunk] : 0;
        if (have_last && now - last_ns > stall_ns) {
            break;
        }
        const unsigned char *data = buf + pos + HEADER;
        uint16_t computed = crc_copy(crc, data, payload, dest + appended);
        if (computed != (((uint16_t)data[payload] << 8) | data[payload + 1])) {
            break;
        }
        if (have_last) {
            PyObject *gap = PyFloat_FromDouble((double)(now - last_ns) / 1e6);
            if (gap == NULL || PyList_Append(gaps, gap) < 0) {
                Py_XDECREF(gap);
                PyByteArray_Resize(out, had + appended);
                goto done;
            }
            Py_DECREF(gap);
        }
        if (taken == 0) {
            first_ns = now;
        }
        have_last = 1;
        last_ns = now;
        crc = computed;
        appended += payload;
        pos += length;
        taken++;
    }
    if (PyByteArray_Resize(out, had + appended) < 0) {
        goto done;
    }
    if (taken == 0) {
        result = Py_BuildValue("(nnlOO)", (Py_ssize_t)0, pos, (long)crc, last_arg, Py_None);
    } else {
        result = Py_BuildValue("(nnlLL)", taken, pos, (long)crc, last_ns, first_ns);
    }
done:
    PyMem_Free(offsets);
    PyMem_Free(times);
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef dualcam_methods[] = {
    {"crc16_kermit", dualcam_crc16_kermit, METH_VARARGS,
     "CRC-16/KERMIT of a bytes-like object, continuing from crc."},
    {"scan_data_frames", dualcam_scan_data_frames, METH_VARARGS,
     "Walk consecutive complete DATA frames: (end, count, last, pending)."},
    {"take_data_frames", dualcam_take_data_frames, METH_VARARGS,
     "Take consecutive DATA frames continuing a CRC chain into a bytearray."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef dualcam_module = {
    PyModuleDef_HEAD_INIT, "dissectors._dualcam_speedups", "DualCam's optional C kernels.", -1,
    dualcam_methods,
};

PyMODINIT_FUNC PyInit__dualcam_speedups(void)
{
    init_tables();
    return PyModule_Create(&dualcam_module);
}
