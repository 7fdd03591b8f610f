/* The pipeline's settle buffer in C; sniffer/settle.py has the Python twin (HeldItemsPython:
 * the fallback without a compiler and the test oracle), with the same API and results.
 *
 * HeldItems(max_held, keep_released)
 *     settle(batch, bound, horizon) -> list
 *         Holds the items of the list batch (none: nothing), whose capture times are at most
 *         bound, after the ones held; then releases the items that settled by horizon, in
 *         order: every item before the first one whose time_ns is newer than horizon and,
 *         while more than max_held are held, the oldest ones anyway (released_early counts
 *         them). A batch whose bound is no later than horizon is released whole, unread.
 *     release_all() -> list: every item held, in order, now released.
 *     count, released_early: items held, items released early.
 *
 * A released batch is let go of at once (None in its place); the places are dropped from the
 * list in bulk once there are more than keep_released and more than the batches still held. A time_ns that is not an int raises,
 * with nothing released (the batch is held).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

typedef struct {
    PyObject_HEAD
    PyObject *batches; /* list of the held batches (lists), released ones before first */
    long long *bounds; /* bounds[i]: the bound of batches[i] */
    Py_ssize_t bounds_size;
    Py_ssize_t first, start; /* the first item held: batches[first][start] */
    Py_ssize_t count, max_held, keep_released, released_early;
} HeldItems;

static PyObject *str_time_ns;

/* An int's value (-1 with an exception when it is none or too big): capture times take two
 * or three digits, which PyLong_AsLong reads faster than PyLong_AsLongLong where long has
 * 64 bits. */
static long long as_time(PyObject *value)
{
#if LONG_MAX >= 0x7FFFFFFFFFFFFFFF
    return PyLong_AsLong(value);
#else
    return PyLong_AsLongLong(value);
#endif
}

static int HeldItems_init(HeldItems *self, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"max_held", "keep_released", NULL};
    Py_ssize_t max_held, keep_released;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "nn", names, &max_held, &keep_released)) {
        return -1;
    }
    PyObject *batches = PyList_New(0);
    if (batches == NULL) {
        return -1;
    }
    Py_XSETREF(self->batches, batches);
    PyMem_Free(self->bounds);
    self->bounds = NULL;
    self->bounds_size = 0;
    self->first = self->start = self->count = self->released_early = 0;
    self->max_held = max_held;
    self->keep_released = keep_released;
    return 0;
}

static int HeldItems_traverse(HeldItems *self, visitproc visit, void *arg)
{
    Py_VISIT(self->batches);
    return 0;
}

static int HeldItems_clear(HeldItems *self)
{
    Py_CLEAR(self->batches);
    return 0;
}

static void HeldItems_dealloc(HeldItems *self)
{
    PyObject_GC_UnTrack(self);
    HeldItems_clear(self);
    PyMem_Free(self->bounds);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Append batch with its bound; -1 on error (nothing changed). */
static int hold(HeldItems *self, PyObject *batch, long long bound)
{
    Py_ssize_t total = PyList_GET_SIZE(self->batches);
    if (total >= self->bounds_size) {
        Py_ssize_t size = self->bounds_size ? 2 * self->bounds_size : 64;
        long long *bounds = PyMem_Realloc(self->bounds, (size_t)size * sizeof(long long));
        if (bounds == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        self->bounds = bounds;
        self->bounds_size = size;
    }
    if (PyList_Append(self->batches, batch) < 0) {
        return -1;
    }
    self->bounds[total] = bound;
    self->count += PyList_GET_SIZE(batch);
    return 0;
}

/* Append items[start:end] to released; -1 on error. */
static int take_slice(PyObject *released, PyObject *items, Py_ssize_t start, Py_ssize_t end)
{
    for (Py_ssize_t i = start; i < end; i++) {
        if (PyList_Append(released, PyList_GET_ITEM(items, i)) < 0) {
            return -1;
        }
    }
    return 0;
}

static PyObject *HeldItems_settle(HeldItems *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "settle(batch: list, bound: int, horizon: int)");
        return NULL;
    }
    PyObject *batch = args[0];
    long long bound = as_time(args[1]);
    if (bound == -1 && PyErr_Occurred()) {
        return NULL;
    }
    long long horizon = as_time(args[2]);
    if (horizon == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (self->batches == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "HeldItems not initialised");
        return NULL;
    }
    if (PyList_GET_SIZE(batch) > 0 && hold(self, batch, bound) < 0) {
        return NULL;
    }
    PyObject *batches = self->batches;
    Py_ssize_t total = PyList_GET_SIZE(batches);
    Py_ssize_t first = self->first, start = self->start;
    PyObject *released = PyList_New(0);
    if (released == NULL) {
        return NULL;
    }
    while (first < total && self->bounds[first] <= horizon) {
        PyObject *items = PyList_GET_ITEM(batches, first);
        if (take_slice(released, items, start, PyList_GET_SIZE(items)) < 0) {
            goto fail;
        }
        first++;
        start = 0;
    }
    Py_ssize_t count = self->count - PyList_GET_SIZE(released);
    Py_ssize_t early = 0;
    /* item by item: time_ns may run Python code (a property), so every object used across
     * it is held, and every size read again after it */
    Py_INCREF(batches);
    while (first < PyList_GET_SIZE(batches)) {
        PyObject *items = PyList_GET_ITEM(batches, first);
        Py_INCREF(items);
        int stopped = 0;
        while (start < PyList_GET_SIZE(items)) {
            PyObject *item = PyList_GET_ITEM(items, start);
            Py_INCREF(item);
            PyObject *time = PyObject_GetAttr(item, str_time_ns);
            long long time_ns = time == NULL ? -1 : as_time(time);
            Py_XDECREF(time);
            if (time_ns == -1 && PyErr_Occurred()) {
                Py_DECREF(item);
                Py_DECREF(items);
                Py_DECREF(batches);
                goto fail;
            }
            if (time_ns > horizon) {
                if (count <= self->max_held) {
                    Py_DECREF(item);
                    stopped = 1;
                    break;
                }
                early++;
            }
            int failed = PyList_Append(released, item);
            Py_DECREF(item);
            if (failed < 0) {
                Py_DECREF(items);
                Py_DECREF(batches);
                goto fail;
            }
            start++;
            count--;
        }
        Py_DECREF(items);
        if (stopped) {
            break;
        }
        first++;
        start = 0;
    }
    Py_DECREF(batches);
    total = PyList_GET_SIZE(batches);
    if (first > total) {
        first = total;
        start = 0;
    }
    for (Py_ssize_t i = self->first; i < first; i++) {
        /* released: let go of the batch now, not at the next compaction */
        PyList_SetItem(batches, i, Py_NewRef(Py_None));
    }
    if (first > self->keep_released && 2 * first > total) {
        if (PyList_SetSlice(batches, 0, first, NULL) < 0) {
            goto fail;
        }
        memmove(self->bounds, self->bounds + first, (size_t)(total - first) * sizeof(long long));
        first = 0;
    }
    self->count = count;
    self->released_early += early;
    self->first = first;
    self->start = start;
    return released;
fail:
    Py_DECREF(released);
    return NULL;
}

static PyObject *HeldItems_release_all(HeldItems *self, PyObject *Py_UNUSED(ignored))
{
    if (self->batches == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "HeldItems not initialised");
        return NULL;
    }
    PyObject *released = PyList_New(0);
    if (released == NULL) {
        return NULL;
    }
    Py_ssize_t total = PyList_GET_SIZE(self->batches);
    Py_ssize_t start = self->start;
    for (Py_ssize_t i = self->first; i < total; i++) {
        PyObject *items = PyList_GET_ITEM(self->batches, i);
        if (take_slice(released, items, start, PyList_GET_SIZE(items)) < 0) {
            Py_DECREF(released);
            return NULL;
        }
        start = 0;
    }
    if (PyList_SetSlice(self->batches, 0, total, NULL) < 0) {
        Py_DECREF(released);
        return NULL;
    }
    self->first = self->start = self->count = 0;
    return released;
}

static PyMethodDef HeldItems_methods[] = {
    {"settle", (PyCFunction)(void (*)(void))HeldItems_settle, METH_FASTCALL,
     "Hold a batch, then release the items that settled by the horizon."},
    {"release_all", (PyCFunction)HeldItems_release_all, METH_NOARGS,
     "Every item held, in order, now released."},
    {NULL, NULL, 0, NULL}};

static PyMemberDef HeldItems_members[] = {
    {"count", T_PYSSIZET, offsetof(HeldItems, count), READONLY, "items held"},
    {"max_held", T_PYSSIZET, offsetof(HeldItems, max_held), READONLY,
     "items held beyond which the oldest are released early"},
    {"released_early", T_PYSSIZET, offsetof(HeldItems, released_early), READONLY,
     "items released before they settled"},
    {NULL, 0, 0, 0, NULL}};

static PyTypeObject HeldItemsType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sniffer._settle.HeldItems",
    .tp_basicsize = sizeof(HeldItems),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Items held until they settle (see sniffer.settle).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)HeldItems_init,
    .tp_dealloc = (destructor)HeldItems_dealloc,
    .tp_traverse = (traverseproc)HeldItems_traverse,
    .tp_clear = (inquiry)HeldItems_clear,
    .tp_methods = HeldItems_methods,
    .tp_members = HeldItems_members,
};

static struct PyModuleDef settle_module = {
    PyModuleDef_HEAD_INIT, "sniffer._settle",
    "The pipeline's settle buffer (sniffer/settle.py has the Python twin).", -1, NULL};

PyMODINIT_FUNC PyInit__settle(void)
{
    str_time_ns = PyUnicode_InternFromString("time_ns");
    if (str_time_ns == NULL || PyType_Ready(&HeldItemsType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&settle_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&HeldItemsType);
    if (PyModule_AddObject(module, "HeldItems", (PyObject *)&HeldItemsType) < 0) {
        Py_DECREF(&HeldItemsType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
