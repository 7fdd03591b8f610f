/* The storage of dissectors.bulk.LeanRecord in C: LeanRecordBase, a static type with the 13
 * attributes of LeanRecordPython's __slots__ as T_OBJECT_EX members of the same names (what
 * a slot is), the same constructor, and no cycle-collector support.
 *
 * A LeanRecord holds ints, a LinkSide, a key tuple, bytes and lists of (str, Severity) tuples
 * and of str: nothing that can lead back to it, so it can be in no reference cycle. As a class
 * with __slots__ it would be GC-tracked, and allocating and freeing one per message would cost
 * the GC's link, untrack and trashcan work. dissectors.bulk subclasses this type with
 * __slots__ = () and the methods of LeanRecordPython (a subclass that adds no storage stays
 * without GC). The C kernels that make and read LeanRecords find the members by name, through
 * their descriptors, as they find a slot's.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <structmember.h>

typedef struct {
    PyObject_HEAD
    PyObject *number;
    PyObject *side;
    PyObject *time_ns;
    PyObject *length;
    PyObject *key;
    PyObject *data;
    PyObject *offset;
    PyObject *stream_start;
    PyObject *problems;
    PyObject *texts;
    PyObject *request_in;
    PyObject *response_in;
    PyObject *latency_ns;
} LeanRecordBase;

static PyObject *empty_bytes, *zero; /* the constructor's defaults */

static int LeanRecordBase_init(PyObject *op, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"number", "side",   "time_ns",      "length", "key",
                               "data",   "offset", "stream_start", NULL};
    PyObject *number, *side, *time_ns, *length, *key;
    PyObject *data = empty_bytes, *offset = zero, *stream_start = zero;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOO|OOO:LeanRecord", keywords, &number,
                                     &side, &time_ns, &length, &key, &data, &offset,
                                     &stream_start)) {
        return -1;
    }
    LeanRecordBase *self = (LeanRecordBase *)op;
    Py_XSETREF(self->number, Py_NewRef(number));
    Py_XSETREF(self->side, Py_NewRef(side));
    Py_XSETREF(self->time_ns, Py_NewRef(time_ns));
    Py_XSETREF(self->length, Py_NewRef(length));
    Py_XSETREF(self->key, Py_NewRef(key));
    Py_XSETREF(self->data, Py_NewRef(data));
    Py_XSETREF(self->offset, Py_NewRef(offset));
    Py_XSETREF(self->stream_start, Py_NewRef(stream_start));
    Py_XSETREF(self->problems, Py_NewRef(Py_None));
    Py_XSETREF(self->texts, Py_NewRef(Py_None));
    Py_XSETREF(self->request_in, Py_NewRef(Py_None));
    Py_XSETREF(self->response_in, Py_NewRef(Py_None));
    Py_XSETREF(self->latency_ns, Py_NewRef(Py_None));
    return 0;
}

/* Also the dealloc of the classes lean_record_class makes, and (from subtype_dealloc) of their
 * Python subclasses: an instance of a heap type holds a reference to it. */
static void LeanRecordBase_dealloc(PyObject *op)
{
    PyTypeObject *type = Py_TYPE(op);
    LeanRecordBase *self = (LeanRecordBase *)op;
    Py_CLEAR(self->number);
    Py_CLEAR(self->side);
    Py_CLEAR(self->time_ns);
    Py_CLEAR(self->length);
    Py_CLEAR(self->key);
    Py_CLEAR(self->data);
    Py_CLEAR(self->offset);
    Py_CLEAR(self->stream_start);
    Py_CLEAR(self->problems);
    Py_CLEAR(self->texts);
    Py_CLEAR(self->request_in);
    Py_CLEAR(self->response_in);
    Py_CLEAR(self->latency_ns);
    type->tp_free(op);
    if (type->tp_flags & Py_TPFLAGS_HEAPTYPE) {
        Py_DECREF(type);
    }
}

#define MEMBER(name, doc) {#name, T_OBJECT_EX, offsetof(LeanRecordBase, name), 0, doc}

static PyMemberDef LeanRecordBase_members[] = {
    MEMBER(number, NULL),
    MEMBER(side, NULL),
    MEMBER(time_ns, NULL),
    MEMBER(length, NULL),
    MEMBER(key, "(protocol, type name, kind): what ``stats`` counts it under; shared per type."),
    MEMBER(data, "Bytes holding the frame, at ``offset`` (empty when the message is only "
                 "counted)."),
    MEMBER(offset, NULL),
    MEMBER(stream_start, "Stream offset of ``data[0]``: the frame starts at ``stream_start + "
                         "offset``."),
    MEMBER(problems, "Matcher-level problems as ``stats`` counts them, (code, severity); None "
                     "until the first."),
    MEMBER(texts, "The text of each of ``problems``, in the same order (None with them)."),
    MEMBER(request_in, NULL),
    MEMBER(response_in, NULL),
    MEMBER(latency_ns, NULL),
    {NULL},
};

static PyTypeObject LeanRecordBaseType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "dissectors._lean_record.LeanRecordBase",
    .tp_basicsize = sizeof(LeanRecordBase),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "LeanRecordBase(number, side, time_ns, length, key, data=b'', offset=0, "
              "stream_start=0)\n--\n\n"
              "The attributes of a LeanRecord, without cycle-collector support (see "
              "dissectors.bulk.LeanRecord).",
    .tp_new = PyType_GenericNew,
    .tp_init = LeanRecordBase_init,
    .tp_dealloc = LeanRecordBase_dealloc,
    .tp_members = LeanRecordBase_members,
};

/* Freed rows of the classes lean_record_class makes, their members all NULL, kept for the next
 * ones: rows are made and freed by the thousand, and taking one here costs less than
 * obmalloc's malloc, zeroing and free. */
#define KEPT_MAX 4096
static PyObject *kept[KEPT_MAX];
static int kept_count;

static PyObject *kept_alloc(PyTypeObject *type, Py_ssize_t nitems)
{
    if (kept_count == 0 || nitems != 0) {
        return PyType_GenericAlloc(type, nitems);
    }
    return PyObject_Init(kept[--kept_count], type);
}

static void kept_free(void *op)
{
    if (kept_count < KEPT_MAX) {
        kept[kept_count++] = op;
    }
    else {
        PyObject_Free(op);
    }
}

/* A class statement always makes a GC type (CPython: "all heap types need GC"), so the class
 * with the methods is made here, from a spec: its instances are LeanRecordBase's, without GC,
 * and freed by LeanRecordBase_dealloc. */
static PyObject *lean_record_class(PyObject *Py_UNUSED(module), PyObject *args)
{
    const char *name;
    PyObject *methods;
    if (!PyArg_ParseTuple(args, "sO!:lean_record_class", &name, &PyType_Type, &methods)) {
        return NULL;
    }
    PyTypeObject *given = (PyTypeObject *)methods;
    if (given->tp_basicsize != PyBaseObject_Type.tp_basicsize || given->tp_itemsize != 0 ||
        given->tp_dictoffset != 0 || given->tp_weaklistoffset != 0 ||
        given->tp_flags & Py_TPFLAGS_MANAGED_DICT) {
        PyErr_SetString(PyExc_TypeError, "the methods' class must add no storage");
        return NULL;
    }
    PyType_Slot slots[] = {
        {Py_tp_new, PyType_GenericNew},
        {Py_tp_init, LeanRecordBase_init},
        {Py_tp_alloc, kept_alloc},
        {Py_tp_dealloc, LeanRecordBase_dealloc},
        {Py_tp_free, kept_free},
        {0, NULL},
    };
    PyType_Spec spec = {name, 0, 0, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, slots};
    PyObject *bases = PyTuple_Pack(2, methods, (PyObject *)&LeanRecordBaseType);
    if (bases == NULL) {
        return NULL;
    }
    PyObject *made = PyType_FromSpecWithBases(&spec, bases);
    Py_DECREF(bases);
    PyTypeObject *type = (PyTypeObject *)made;
    if (made != NULL && (type->tp_flags & (Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_MANAGED_DICT) ||
                         type->tp_basicsize != sizeof(LeanRecordBase) ||
                         type->tp_dictoffset != 0 || type->tp_weaklistoffset != 0)) {
        PyErr_SetString(PyExc_SystemError, "lean_record_class made a class with storage");
        Py_CLEAR(made);
    }
    return made;
}

static PyMethodDef lean_record_functions[] = {
    {"lean_record_class", lean_record_class, METH_VARARGS,
     "lean_record_class(name, methods, /)\n--\n\n"
     "The class `name` (dotted: module.qualname) with the storage of LeanRecordBase, without "
     "GC, and the methods of `methods` (a class with __slots__ = ()): (methods, "
     "LeanRecordBase) are its bases."},
    {NULL},
};

static struct PyModuleDef lean_record_module = {
    PyModuleDef_HEAD_INIT, "dissectors._lean_record",
    "The storage of dissectors.bulk.LeanRecord, without cycle-collector support.", -1,
    lean_record_functions,
};

PyMODINIT_FUNC PyInit__lean_record(void)
{
    if (empty_bytes == NULL) {
        empty_bytes = PyBytes_FromStringAndSize(NULL, 0);
        zero = PyLong_FromLong(0);
        if (empty_bytes == NULL || zero == NULL) {
            return NULL;
        }
    }
    if (PyType_Ready(&LeanRecordBaseType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&lean_record_module);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(module, "LeanRecordBase", (PyObject *)&LeanRecordBaseType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
