/* Counting settled LeanRecords for `camshark stats` in C; sniffer/stats.py has the Python
 * twin (LeanCounterPython: the fallback without a compiler and the test oracle).
 *
 * LeanCounter(sides, types, problems, unanswered, unanswered_codes, waiting, latencies,
 *             lean_type, link_stats_type, sample_type, latency_samples, error, warning)
 * works on a Stats' own tables. count(items, index, last_ns) -> (index, last_ns) counts the
 * LeanRecords from items[index] on exactly as Stats._count_row would, and stops, before
 * changing anything for it, at the first item that is not a LeanRecord or needs something
 * new (a side, a latency sample or a problem code not seen yet): Stats counts that one in
 * Python and calls count again.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

enum { R_NUMBER, R_SIDE, R_TIME, R_LENGTH, R_KEY, R_PROBLEMS, R_RESPONSE_IN, R_LATENCY, N_ROW };
static const char *row_names[N_ROW] = {"number", "side", "time_ns", "length", "key",
                                       "problems", "response_in", "latency_ns"};
enum { L_LAST, L_TO, L_FROM, L_BYTES_TO, L_BYTES_FROM, L_ERRORS, L_WARNINGS, L_LATENCIES, N_LINK };
static const char *link_names[N_LINK] = {"last_ns", "to_device", "from_device",
                                         "bytes_to_device", "bytes_from_device", "errors",
                                         "warnings", "latencies"};
enum { S_VALUES, S_COUNT, S_LOW, S_HIGH, S_STRIDE, N_SAMPLE };
static const char *sample_names[N_SAMPLE] = {"values", "count", "low", "high", "stride"};

typedef struct {
    PyObject_HEAD
    PyObject *sides, *types, *problems, *unanswered, *unanswered_codes, *waiting, *latencies;
    PyTypeObject *lean_type, *link_type, *sample_type;
    PyObject *error, *warning;
    Py_ssize_t latency_samples;
    Py_ssize_t row[N_ROW], link[N_LINK], sample[N_SAMPLE];
} LeanCounter;

static inline PyObject *get_slot(PyObject *obj, Py_ssize_t offset)
{
    return *(PyObject **)((char *)obj + offset); /* borrowed, may be NULL */
}

static inline void put_slot(PyObject *obj, Py_ssize_t offset, PyObject *value)
{
    /* steals value */
    PyObject **at = (PyObject **)((char *)obj + offset);
    PyObject *old = *at;
    *at = value;
    Py_XDECREF(old);
}

/* the slot's int plus delta, stored back; -1 on error */
static int add_to_slot(PyObject *obj, Py_ssize_t offset, PyObject *delta)
{
    PyObject *value = get_slot(obj, offset);
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "a counter slot is unset");
        return -1;
    }
    PyObject *sum = PyNumber_Add(value, delta);
    if (sum == NULL) {
        return -1;
    }
    put_slot(obj, offset, sum);
    return 0;
}

static PyObject *one;

/* counter[key] += 1 on a dict (a Counter's missing keys count from 0) */
static int bump(PyObject *counter, PyObject *key)
{
    PyObject *value = PyDict_GetItemWithError(counter, key);
    if (value == NULL) {
        if (PyErr_Occurred()) {
            return -1;
        }
        return PyDict_SetItem(counter, key, one);
    }
    PyObject *sum = PyNumber_Add(value, one);
    if (sum == NULL) {
        return -1;
    }
    int failed = PyDict_SetItem(counter, key, sum);
    Py_DECREF(sum);
    return failed;
}

/* LatencySample.add */
static int sample_add(LeanCounter *self, PyObject *sample, PyObject *latency, long long value)
{
    Py_ssize_t *at = self->sample;
    PyObject *count_obj = get_slot(sample, at[S_COUNT]);
    PyObject *low_obj = get_slot(sample, at[S_LOW]), *high_obj = get_slot(sample, at[S_HIGH]);
    PyObject *stride_obj = get_slot(sample, at[S_STRIDE]), *values = get_slot(sample, at[S_VALUES]);
    if (!count_obj || !low_obj || !high_obj || !stride_obj || !values || !PyList_Check(values)) {
        PyErr_SetString(PyExc_TypeError, "a LatencySample's slots are unset");
        return -1;
    }
    long long count = PyLong_AsLongLong(count_obj);
    long long low = PyLong_AsLongLong(low_obj), high = PyLong_AsLongLong(high_obj);
    long long stride = PyLong_AsLongLong(stride_obj);
    if (PyErr_Occurred()) {
        return -1;
    }
    if (stride <= 0) {
        PyErr_SetString(PyExc_ValueError, "a LatencySample's stride must be positive");
        return -1;
    }
    PyObject *next = PyLong_FromLongLong(count + 1);
    if (next == NULL) {
        return -1;
    }
    put_slot(sample, at[S_COUNT], next);
    if (!count || value < low) {
        Py_INCREF(latency);
        put_slot(sample, at[S_LOW], latency);
    }
    if (value > high) {
        Py_INCREF(latency);
        put_slot(sample, at[S_HIGH], latency);
    }
    if (count % stride) {
        return 0;
    }
    if (PyList_Append(values, latency) < 0) {
        return -1;
    }
    if (PyList_GET_SIZE(values) > self->latency_samples) {
        PyObject *every_other = PySlice_New(one, Py_None, NULL);
        PyObject *two = PyLong_FromLong(2);
        if (every_other != NULL && two != NULL) {
            Py_DECREF(every_other);
            every_other = PySlice_New(one, Py_None, two);
        }
        Py_XDECREF(two);
        int failed = every_other == NULL || PyObject_DelItem(values, every_other) < 0;
        Py_XDECREF(every_other);
        if (failed) {
            return -1;
        }
        PyObject *doubled = PyLong_FromLongLong(stride * 2);
        if (doubled == NULL) {
            return -1;
        }
        put_slot(sample, at[S_STRIDE], doubled);
    }
    return 0;
}

static PyObject *LeanCounter_count(LeanCounter *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (self->sides == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "LeanCounter was not initialised");
        return NULL;
    }
    if (nargs != 3 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "count(items: list, index, last_ns)");
        return NULL;
    }
    PyObject *items = args[0];
    Py_ssize_t index = PyLong_AsSsize_t(args[1]);
    long long last_ns = PyLong_AsLongLong(args[2]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    PyObject *last_obj = args[2];
    Py_INCREF(last_obj);
    if (index < 0) {
        index = 0;
    }
    Py_ssize_t *row_at = self->row, *link_at = self->link;
    PyObject *last_side = NULL, *stats = NULL;
    int to_device = 0;
    while (index < PyList_GET_SIZE(items)) {
        PyObject *row = PyList_GET_ITEM(items, index);
        if (Py_TYPE(row) != self->lean_type) {
            break;
        }
        PyObject *side = get_slot(row, row_at[R_SIDE]), *time_ns = get_slot(row, row_at[R_TIME]);
        PyObject *length = get_slot(row, row_at[R_LENGTH]), *key = get_slot(row, row_at[R_KEY]);
        PyObject *problems = get_slot(row, row_at[R_PROBLEMS]);
        PyObject *response_in = get_slot(row, row_at[R_RESPONSE_IN]);
        PyObject *latency = get_slot(row, row_at[R_LATENCY]);
        PyObject *number = get_slot(row, row_at[R_NUMBER]);
        if (!side || !time_ns || !length || !key || !problems || !response_in || !latency ||
            !number || !PyTuple_Check(key) || PyTuple_GET_SIZE(key) != 3) {
            break; /* Python says what is wrong with it */
        }
        /* -- everything that could stop this row, before anything changes -- */
        if (side != last_side) {
            PyObject *counts = PyDict_GetItemWithError(self->sides, side);
            if (counts == NULL) {
                if (PyErr_Occurred()) {
                    goto error;
                }
                break; /* a side not seen yet */
            }
            if (!PyTuple_Check(counts) || PyTuple_GET_SIZE(counts) != 2 ||
                Py_TYPE(PyTuple_GET_ITEM(counts, 0)) != self->link_type) {
                break;
            }
            last_side = side;
            stats = PyTuple_GET_ITEM(counts, 0);
            to_device = PyTuple_GET_ITEM(counts, 1) == Py_True;
        }
        int overflow = 0;
        long long now = PyLong_AsLongLongAndOverflow(time_ns, &overflow);
        if (overflow || (now == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            break;
        }
        if (problems != Py_None) {
            if (!PyList_Check(problems)) {
                break;
            }
            int known = 1;
            for (Py_ssize_t i = 0; i < PyList_GET_SIZE(problems) && known; i++) {
                PyObject *problem = PyList_GET_ITEM(problems, i);
                if (!PyTuple_Check(problem) || PyTuple_GET_SIZE(problem) != 2) {
                    known = 0;
                    break;
                }
                PyObject *seen = PyDict_GetItemWithError(self->unanswered_codes,
                                                         PyTuple_GET_ITEM(problem, 0));
                if (seen == NULL) {
                    if (PyErr_Occurred()) {
                        goto error;
                    }
                    known = 0;
                }
            }
            if (!known) {
                break; /* a problem code not seen yet */
            }
        }
        if (response_in != Py_None && latency != Py_None) {
            int same = PyObject_RichCompareBool(response_in, number, Py_EQ);
            if (same) {
                if (same < 0) {
                    goto error;
                }
                break; /* answers itself: the order of the waiting table's steps matters */
            }
        }
        PyObject *request_type = NULL, *sample = NULL, *latency_key = NULL;
        long long latency_value = 0;
        if (latency != Py_None) {
            request_type = PyDict_GetItemWithError(self->waiting, number);
            if (request_type == NULL && PyErr_Occurred()) {
                goto error;
            }
            if (request_type != NULL) {
                latency_value = PyLong_AsLongLongAndOverflow(latency, &overflow);
                if (overflow || (latency_value == -1 && PyErr_Occurred())) {
                    PyErr_Clear();
                    break;
                }
                latency_key = PyTuple_Pack(2, PyTuple_GET_ITEM(key, 0), request_type);
                if (latency_key == NULL) {
                    goto error;
                }
                sample = PyDict_GetItemWithError(self->latencies, latency_key);
                if (sample == NULL || Py_TYPE(sample) != self->sample_type) {
                    Py_DECREF(latency_key);
                    if (PyErr_Occurred()) {
                        goto error;
                    }
                    break; /* a latency sample not made yet */
                }
                Py_INCREF(request_type); /* the pop below drops the dict's reference */
            }
        }
        /* -- count it: Stats._count_row -- */
        int failed = 0;
        if (now > last_ns) {
            last_ns = now;
            Py_INCREF(time_ns);
            Py_SETREF(last_obj, time_ns);
        }
        Py_INCREF(time_ns);
        put_slot(stats, link_at[L_LAST], time_ns);
        failed |= add_to_slot(stats, link_at[to_device ? L_TO : L_FROM], one) < 0;
        failed |= !failed && add_to_slot(stats, link_at[to_device ? L_BYTES_TO : L_BYTES_FROM],
                                         length) < 0;
        failed |= !failed && bump(self->types, key) < 0;
        if (!failed && problems != Py_None) {
            for (Py_ssize_t i = 0; i < PyList_GET_SIZE(problems) && !failed; i++) {
                PyObject *problem = PyList_GET_ITEM(problems, i);
                PyObject *severity = PyTuple_GET_ITEM(problem, 1);
                failed |= bump(self->problems, problem) < 0;
                if (!failed && severity == self->error) {
                    failed |= add_to_slot(stats, link_at[L_ERRORS], one) < 0;
                } else if (!failed && severity == self->warning) {
                    failed |= add_to_slot(stats, link_at[L_WARNINGS], one) < 0;
                }
                PyObject *unanswered =
                    failed ? NULL
                           : PyDict_GetItemWithError(self->unanswered_codes,
                                                     PyTuple_GET_ITEM(problem, 0));
                if (!failed && unanswered == NULL) {
                    if (!PyErr_Occurred()) {
                        PyErr_SetString(PyExc_RuntimeError, "a problem code vanished");
                    }
                    failed = 1;
                }
                if (!failed && PyObject_IsTrue(unanswered)) {
                    PyObject *type_key = PyTuple_GetSlice(key, 0, 2);
                    failed |= type_key == NULL || bump(self->unanswered, type_key) < 0;
                    Py_XDECREF(type_key);
                }
            }
        }
        if (!failed && response_in != Py_None) {
            failed |= PyDict_SetItem(self->waiting, response_in, PyTuple_GET_ITEM(key, 1)) < 0;
        }
        if (!failed && request_type != NULL) {
            failed |= PyDict_DelItem(self->waiting, number) < 0;
            failed |= !failed && sample_add(self, sample, latency, latency_value) < 0;
            PyObject *link_sample = failed ? NULL : get_slot(stats, link_at[L_LATENCIES]);
            if (!failed && (link_sample == NULL || Py_TYPE(link_sample) != self->sample_type)) {
                PyErr_SetString(PyExc_TypeError, "LinkStats.latencies is not a LatencySample");
                failed = 1;
            }
            failed |= !failed && sample_add(self, link_sample, latency, latency_value) < 0;
        }
        Py_XDECREF(request_type);
        Py_XDECREF(latency_key);
        if (failed) {
            goto error;
        }
        index += 1;
    }
    PyObject *result = Py_BuildValue("(nN)", index, last_obj);
    return result;
error:
    Py_DECREF(last_obj);
    return NULL;
}

/* -- the type ------------------------------------------------------------------------------- */

static int slot_offsets(PyObject *type, const char **names, int count, Py_ssize_t *offsets)
{
    for (int i = 0; i < count; i++) {
        PyObject *descr = PyObject_GetAttrString(type, names[i]);
        if (descr == NULL) {
            return -1;
        }
        int member = Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
                     ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX;
        if (member) {
            offsets[i] = ((PyMemberDescrObject *)descr)->d_member->offset;
        }
        Py_DECREF(descr);
        if (!member) {
            PyErr_Format(PyExc_TypeError, "%R needs a slot %s", type, names[i]);
            return -1;
        }
    }
    return 0;
}

static int LeanCounter_init(LeanCounter *self, PyObject *args, PyObject *kwds)
{
    PyObject *dicts[7], *types[3], *error, *warning;
    Py_ssize_t latency_samples;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!O!O!O!O!O!nOO", &PyDict_Type, &dicts[0],
                          &PyDict_Type, &dicts[1], &PyDict_Type, &dicts[2], &PyDict_Type,
                          &dicts[3], &PyDict_Type, &dicts[4], &PyDict_Type, &dicts[5],
                          &PyDict_Type, &dicts[6], &PyType_Type, &types[0], &PyType_Type,
                          &types[1], &PyType_Type, &types[2], &latency_samples, &error,
                          &warning)) {
        return -1;
    }
    if (slot_offsets(types[0], row_names, N_ROW, self->row) < 0 ||
        slot_offsets(types[1], link_names, N_LINK, self->link) < 0 ||
        slot_offsets(types[2], sample_names, N_SAMPLE, self->sample) < 0) {
        return -1;
    }
    if (latency_samples < 1) {
        PyErr_SetString(PyExc_ValueError, "latency_samples must be positive");
        return -1;
    }
    PyObject **fields[] = {&self->sides, &self->types, &self->problems, &self->unanswered,
                           &self->unanswered_codes, &self->waiting, &self->latencies};
    for (int i = 0; i < 7; i++) {
        Py_INCREF(dicts[i]);
        Py_XSETREF(*fields[i], dicts[i]);
    }
    Py_INCREF(types[0]);
    Py_XSETREF(self->lean_type, (PyTypeObject *)types[0]);
    Py_INCREF(types[1]);
    Py_XSETREF(self->link_type, (PyTypeObject *)types[1]);
    Py_INCREF(types[2]);
    Py_XSETREF(self->sample_type, (PyTypeObject *)types[2]);
    Py_INCREF(error);
    Py_XSETREF(self->error, error);
    Py_INCREF(warning);
    Py_XSETREF(self->warning, warning);
    self->latency_samples = latency_samples;
    return 0;
}

static int LeanCounter_traverse(LeanCounter *self, visitproc visit, void *arg)
{
    Py_VISIT(self->sides);
    Py_VISIT(self->types);
    Py_VISIT(self->problems);
    Py_VISIT(self->unanswered);
    Py_VISIT(self->unanswered_codes);
    Py_VISIT(self->waiting);
    Py_VISIT(self->latencies);
    Py_VISIT(self->lean_type);
    Py_VISIT(self->link_type);
    Py_VISIT(self->sample_type);
    Py_VISIT(self->error);
    Py_VISIT(self->warning);
    return 0;
}

static int LeanCounter_clear(LeanCounter *self)
{
    Py_CLEAR(self->sides);
    Py_CLEAR(self->types);
    Py_CLEAR(self->problems);
    Py_CLEAR(self->unanswered);
    Py_CLEAR(self->unanswered_codes);
    Py_CLEAR(self->waiting);
    Py_CLEAR(self->latencies);
    Py_CLEAR(self->lean_type);
    Py_CLEAR(self->link_type);
    Py_CLEAR(self->sample_type);
    Py_CLEAR(self->error);
    Py_CLEAR(self->warning);
    return 0;
}

static void LeanCounter_dealloc(LeanCounter *self)
{
    PyObject_GC_UnTrack(self);
    LeanCounter_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef LeanCounter_methods[] = {
    {"count", (PyCFunction)(void (*)(void))LeanCounter_count, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject LeanCounterType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sniffer._lean_count.LeanCounter",
    .tp_basicsize = sizeof(LeanCounter),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Counts settled LeanRecords for stats (see sniffer/stats.py).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)LeanCounter_init,
    .tp_dealloc = (destructor)LeanCounter_dealloc,
    .tp_traverse = (traverseproc)LeanCounter_traverse,
    .tp_clear = (inquiry)LeanCounter_clear,
    .tp_methods = LeanCounter_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_lean_count",
    "Counting settled LeanRecords in C (see sniffer/stats.py).", -1, NULL,
};

PyMODINIT_FUNC PyInit__lean_count(void)
{
    one = PyLong_FromLong(1);
    if (one == NULL || PyType_Ready(&LeanCounterType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&LeanCounterType);
    if (PyModule_AddObject(m, "LeanCounter", (PyObject *)&LeanCounterType) < 0) {
        Py_DECREF(&LeanCounterType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
