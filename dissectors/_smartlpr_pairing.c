/* The common case of SmartLPR pairing in C; dissectors/smartlpr/pairing.py has the same API
 * in Python (PairingPython: the reference, the fallback and the test oracle).
 *
 * Pairing(tables, shapes, max_entries) works on the matcher's own OrderedDicts (pending,
 * answered, triggers, refused): every method decides the common case of a rule and returns
 * False/None without changing anything when the rule has more to say, which the matcher's
 * Python rules then handle. take_run() takes the frames of a run (classify, pair, make the
 * LeanRecords) while each has a lean form and the common case; it stops at the first that
 * has not. Every byte read is bounded by the run's data: any input is safe.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "smartlpr_wire.h"

#define RESPONSE_OFFSET 64
#define CLOCK_DRIFT_NS 2000000000LL

enum { REPLY, OPENER, TRIGGER_OPENER, PLATE_OPENER, PICTURE_OPENER, PICTURE_REPLY };
enum { S_NUMBER, S_SIDE, S_TIME, S_LENGTH, S_KEY, S_PROBLEMS, S_REQUEST_IN, S_RESPONSE_IN,
       S_LATENCY, S_DATA, S_OFFSET, S_STREAM_START, S_TEXTS, N_SLOTS };
static const char *slot_names[N_SLOTS] = {"number", "side", "time_ns", "length", "key",
                                          "problems", "request_in", "response_in",
                                          "latency_ns", "data", "offset", "stream_start",
                                          "texts"};
static PyObject *str_number, *str_request_in, *str_response_in, *str_latency_ns;
static PyObject *str_data, *str_time_ns;

/* -- AgeTable: the matcher's tables ---------------------------------------------------------
 *
 * Keyed by (hosts, unit, key): hosts a 2-tuple of str, unit and key ints that fit 64 bits
 * (UnitId and Id/Type/TriggerId). Insertion-ordered like an OrderedDict (setting a known key
 * keeps its place), so the oldest entry is found in O(1) and tables are pruned from the
 * oldest end. A compact table as CPython's dict: the entries in insertion order, an
 * open-addressing index into them; a deleted entry stays a hole until the entries are full,
 * then the live ones are packed into an array sized for them (memory follows the live count).
 */

#define IX_EMPTY (-1)
#define IX_DUMMY (-2)

/* PyLong_AsLongLong without a call for the ints small_int64 reads (header fields, times) */
static inline long long as_long_long(PyObject *value)
{
    int64_t small;
    if (PyLong_CheckExact(value) && small_int64(value, &small)) {
        return (long long)small;
    }
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow) {
        PyErr_SetString(PyExc_OverflowError, "int too large for 64 bits");
        return -1;
    }
    return v;
}

typedef struct {
    PyObject *hosts; /* NULL: deleted */
    PyObject *value;
    int64_t unit, id;
    uint64_t hash;
} Entry;

typedef struct {
    PyObject_HEAD
    Entry *entries;
    Py_ssize_t capacity, used, first, live;
    Py_ssize_t *index;
    size_t mask;
} AgeTable;

typedef struct {
    PyObject *hosts;
    int64_t unit, id;
    uint64_t hash;
} Key;

static PyTypeObject AgeTableType;

static inline uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* the hash of hosts, checked to be a 2-tuple of str; -1 on error */
static Py_hash_t hosts_hash(PyObject *hosts)
{
    if (!PyTuple_CheckExact(hosts) || PyTuple_GET_SIZE(hosts) != 2 ||
        !PyUnicode_CheckExact(PyTuple_GET_ITEM(hosts, 0)) ||
        !PyUnicode_CheckExact(PyTuple_GET_ITEM(hosts, 1))) {
        PyErr_SetString(PyExc_TypeError, "hosts must be a 2-tuple of str");
        return -1;
    }
    return PyObject_Hash(hosts);
}

static int as_int64(PyObject *value, int64_t *out)
{
    if (!PyLong_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "table keys are ints");
        return -1;
    }
    long long v = as_long_long(value);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

static inline void key_ints(Key *key, PyObject *hosts, Py_hash_t hash, int64_t unit, int64_t id)
{
    key->hosts = hosts;
    key->unit = unit;
    key->id = id;
    key->hash = mix64(mix64((uint64_t)hash ^ ((uint64_t)unit * 0x9e3779b97f4a7c15ULL)) ^
                      (uint64_t)id);
}

/* the key of hosts (whose hash is known), unit and id; -1 on error */
static int key_of(Key *key, PyObject *hosts, Py_hash_t hash, PyObject *unit, PyObject *id)
{
    int64_t unit_value, id_value;
    if (as_int64(unit, &unit_value) < 0 || as_int64(id, &id_value) < 0) {
        return -1;
    }
    key_ints(key, hosts, hash, unit_value, id_value);
    return 0;
}

static int full_key(Key *key, PyObject *hosts, PyObject *unit, PyObject *id)
{
    Py_hash_t hash = hosts_hash(hosts);
    return hash == -1 ? -1 : key_of(key, hosts, hash, unit, id);
}

/* both 2-tuples of exact str (checked when they came in): no Python code runs */
static inline int same_hosts(PyObject *a, PyObject *b)
{
    if (a == b) {
        return 1;
    }
    for (int i = 0; i < 2; i++) {
        PyObject *x = PyTuple_GET_ITEM(a, i), *y = PyTuple_GET_ITEM(b, i);
        if (x != y && PyUnicode_Compare(x, y) != 0) {
            return 0;
        }
    }
    return 1;
}

/* the index slot of key's entry, or -1; *free_slot (if given) gets where it would go */
static Py_ssize_t table_slot(AgeTable *t, const Key *key, Py_ssize_t *free_slot)
{
    if (t->index == NULL) {
        return -1;
    }
    size_t i = key->hash & t->mask, perturb = key->hash;
    Py_ssize_t reusable = -1;
    for (;;) {
        Py_ssize_t ix = t->index[i];
        if (ix == IX_EMPTY) {
            if (free_slot != NULL) {
                *free_slot = reusable >= 0 ? reusable : (Py_ssize_t)i;
            }
            return -1;
        }
        if (ix == IX_DUMMY) {
            if (reusable < 0) {
                reusable = (Py_ssize_t)i;
            }
        } else {
            Entry *e = &t->entries[ix];
            if (e->hash == key->hash && e->unit == key->unit && e->id == key->id &&
                same_hosts(e->hosts, key->hosts)) {
                return (Py_ssize_t)i;
            }
        }
        perturb >>= 5;
        i = (i * 5 + perturb + 1) & t->mask;
    }
}

static inline Entry *table_find(AgeTable *t, const Key *key)
{
    Py_ssize_t slot = table_slot(t, key, NULL);
    return slot < 0 ? NULL : &t->entries[t->index[slot]];
}

/* the live entries packed into arrays sized for them; -1 on error (nothing changed). A table
 * about as full as when it was last packed (the steady state of a long capture) is packed in
 * place: reallocating its megabytes each time would leave the heap fragmented and growing. */
static int table_resize(AgeTable *t)
{
    Py_ssize_t capacity = t->live * 2 + 8;
    Entry *entries = t->entries;
    Py_ssize_t *index = t->index;
    size_t size = (size_t)t->mask + 1;
    int in_place = entries != NULL && capacity <= t->capacity && capacity * 4 > t->capacity;
    if (in_place) {
        capacity = t->capacity;
    } else {
        size = 16;
        while (size < (size_t)capacity * 2) {
            size <<= 1;
        }
        entries = PyMem_Malloc(sizeof(Entry) * (size_t)capacity);
        index = PyMem_Malloc(sizeof(Py_ssize_t) * size);
        if (entries == NULL || index == NULL) {
            PyMem_Free(entries);
            PyMem_Free(index);
            PyErr_NoMemory();
            return -1;
        }
    }
    for (size_t i = 0; i < size; i++) {
        index[i] = IX_EMPTY;
    }
    size_t mask = size - 1;
    Py_ssize_t n = 0;
    for (Py_ssize_t j = t->first; j < t->used; j++) {
        Entry *e = &t->entries[j];
        if (e->hosts == NULL) {
            continue;
        }
        entries[n] = *e; /* in place, n <= j: an entry moves down onto a hole or itself */
        size_t i = e->hash & mask, perturb = e->hash;
        while (index[i] != IX_EMPTY) {
            perturb >>= 5;
            i = (i * 5 + perturb + 1) & mask;
        }
        index[i] = n++;
    }
    if (!in_place) {
        PyMem_Free(t->entries);
        PyMem_Free(t->index);
    }
    t->entries = entries;
    t->index = index;
    t->mask = mask;
    t->capacity = capacity;
    t->used = n;
    t->first = 0;
    return 0;
}

/* key -> value (a new reference is taken); a known key keeps its place. -1 on error */
static int table_set(AgeTable *t, const Key *key, PyObject *value)
{
    Py_ssize_t free_slot = -1;
    Py_ssize_t slot = table_slot(t, key, &free_slot);
    if (slot >= 0) {
        Entry *e = &t->entries[t->index[slot]];
        PyObject *old = e->value;
        Py_INCREF(value);
        e->value = value;
        Py_DECREF(old);
        return 0;
    }
    if (t->used == t->capacity) {
        if (table_resize(t) < 0) {
            return -1;
        }
        table_slot(t, key, &free_slot);
    }
    Entry *e = &t->entries[t->used];
    Py_INCREF(key->hosts);
    Py_INCREF(value);
    e->hosts = key->hosts;
    e->value = value;
    e->unit = key->unit;
    e->id = key->id;
    e->hash = key->hash;
    t->index[free_slot] = t->used++;
    t->live++;
    return 0;
}

/* takes the entry at index slot out; its value is returned (the table's reference) */
static PyObject *table_take(AgeTable *t, Py_ssize_t slot)
{
    Py_ssize_t ix = t->index[slot];
    Entry *e = &t->entries[ix];
    PyObject *hosts = e->hosts, *value = e->value;
    e->hosts = NULL;
    e->value = NULL;
    t->index[slot] = IX_DUMMY;
    t->live--;
    if (ix == t->first) {
        while (t->first < t->used && t->entries[t->first].hosts == NULL) {
            t->first++;
        }
    }
    Py_DECREF(hosts);
    return value;
}

/* the index slot of the oldest entry (the table is not empty) */
static Py_ssize_t table_oldest_slot(AgeTable *t)
{
    Key key;
    Entry *e = &t->entries[t->first];
    key.hosts = e->hosts;
    key.unit = e->unit;
    key.id = e->id;
    key.hash = e->hash;
    return table_slot(t, &key, NULL);
}

static void table_release(Entry *entries, Py_ssize_t from, Py_ssize_t to, Py_ssize_t *index)
{
    for (Py_ssize_t j = from; j < to; j++) {
        Py_XDECREF(entries[j].hosts);
        Py_XDECREF(entries[j].value);
    }
    PyMem_Free(entries);
    PyMem_Free(index);
}

static void table_clear(AgeTable *t)
{
    Entry *entries = t->entries;
    Py_ssize_t *index = t->index;
    Py_ssize_t first = t->first, used = t->used;
    t->entries = NULL;
    t->index = NULL;
    t->mask = 0;
    t->capacity = t->used = t->first = t->live = 0;
    table_release(entries, first, used, index); /* values may run code: the table is empty */
}

/* -- AgeTable's Python API ---------------------------------------------------------------- */

static int table_args(const char *usage, PyObject *const *args, Py_ssize_t nargs,
                      Py_ssize_t want, Key *key)
{
    if (nargs != want) {
        PyErr_SetString(PyExc_TypeError, usage);
        return -1;
    }
    return full_key(key, args[0], args[1], args[2]);
}

static PyObject *AgeTable_get(AgeTable *t, PyObject *const *args, Py_ssize_t nargs)
{
    Key key;
    if (table_args("get(hosts, unit, key)", args, nargs, 3, &key) < 0) {
        return NULL;
    }
    Entry *e = table_find(t, &key);
    PyObject *value = e != NULL ? e->value : Py_None;
    Py_INCREF(value);
    return value;
}

static PyObject *AgeTable_contains(AgeTable *t, PyObject *const *args, Py_ssize_t nargs)
{
    Key key;
    if (table_args("contains(hosts, unit, key)", args, nargs, 3, &key) < 0) {
        return NULL;
    }
    return PyBool_FromLong(table_find(t, &key) != NULL);
}

static PyObject *AgeTable_pop(AgeTable *t, PyObject *const *args, Py_ssize_t nargs)
{
    Key key;
    if (table_args("pop(hosts, unit, key)", args, nargs, 3, &key) < 0) {
        return NULL;
    }
    Py_ssize_t slot = table_slot(t, &key, NULL);
    if (slot < 0) {
        Py_RETURN_NONE;
    }
    return table_take(t, slot);
}

static PyObject *AgeTable_set(AgeTable *t, PyObject *const *args, Py_ssize_t nargs)
{
    Key key;
    if (table_args("set(hosts, unit, key, value)", args, nargs, 4, &key) < 0 ||
        table_set(t, &key, args[3]) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *AgeTable_oldest(AgeTable *t, PyObject *unused)
{
    PyObject *value = t->live ? t->entries[t->first].value : Py_None;
    Py_INCREF(value);
    return value;
}

static PyObject *AgeTable_pop_oldest(AgeTable *t, PyObject *unused)
{
    if (!t->live) {
        Py_RETURN_NONE;
    }
    return table_take(t, table_oldest_slot(t));
}

static PyObject *AgeTable_items(AgeTable *t, PyObject *unused)
{
    PyObject *items = PyList_New(0);
    for (Py_ssize_t j = t->first; items != NULL && j < t->used; j++) {
        Entry *e = &t->entries[j];
        if (e->hosts == NULL) {
            continue;
        }
        PyObject *item = Py_BuildValue("((OLL)O)", e->hosts, (long long)e->unit,
                                       (long long)e->id, e->value);
        if (item == NULL || PyList_Append(items, item) < 0) {
            Py_CLEAR(items);
        }
        Py_XDECREF(item);
    }
    return items;
}

static PyObject *AgeTable_prune(AgeTable *t, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "prune(field, horizon)");
        return NULL;
    }
    Py_ssize_t field = PyLong_AsSsize_t(args[0]);
    if (field == -1 && PyErr_Occurred()) {
        return NULL;
    }
    PyObject *horizon = args[1];
    Py_ssize_t dropped = 0;
    while (t->live) {
        PyObject *value = t->entries[t->first].value;
        Py_INCREF(value);
        PyObject *time_ns = PySequence_GetItem(value, field);
        Py_DECREF(value);
        int old = time_ns ? PyObject_RichCompareBool(time_ns, horizon, Py_LE) : -1;
        Py_XDECREF(time_ns);
        if (old <= 0) {
            if (old < 0) {
                return NULL;
            }
            break;
        }
        if (!t->live) { /* emptied by the comparison's code */
            break;
        }
        Py_DECREF(table_take(t, table_oldest_slot(t)));
        dropped++;
    }
    return PyLong_FromSsize_t(dropped);
}

static Py_ssize_t AgeTable_len(AgeTable *t)
{
    return t->live;
}

static int AgeTable_traverse(AgeTable *t, visitproc visit, void *arg)
{
    for (Py_ssize_t j = t->first; j < t->used; j++) {
        Py_VISIT(t->entries[j].hosts);
        Py_VISIT(t->entries[j].value);
    }
    return 0;
}

static int AgeTable_tp_clear(AgeTable *t)
{
    table_clear(t);
    return 0;
}

static void AgeTable_dealloc(AgeTable *t)
{
    PyObject_GC_UnTrack(t);
    table_clear(t);
    Py_TYPE(t)->tp_free((PyObject *)t);
}

static PyObject *AgeTable_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (PyTuple_GET_SIZE(args) || (kwds != NULL && PyDict_GET_SIZE(kwds))) {
        PyErr_SetString(PyExc_TypeError, "AgeTable() takes no arguments");
        return NULL;
    }
    return type->tp_alloc(type, 0);
}

static PyMethodDef AgeTable_methods[] = {
    {"get", (PyCFunction)(void (*)(void))AgeTable_get, METH_FASTCALL, NULL},
    {"contains", (PyCFunction)(void (*)(void))AgeTable_contains, METH_FASTCALL, NULL},
    {"pop", (PyCFunction)(void (*)(void))AgeTable_pop, METH_FASTCALL, NULL},
    {"set", (PyCFunction)(void (*)(void))AgeTable_set, METH_FASTCALL, NULL},
    {"oldest", (PyCFunction)AgeTable_oldest, METH_NOARGS, NULL},
    {"pop_oldest", (PyCFunction)AgeTable_pop_oldest, METH_NOARGS, NULL},
    {"items", (PyCFunction)AgeTable_items, METH_NOARGS, NULL},
    {"prune", (PyCFunction)(void (*)(void))AgeTable_prune, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods AgeTable_as_sequence = {
    .sq_length = (lenfunc)AgeTable_len,
};

static PyTypeObject AgeTableType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "dissectors._smartlpr_pairing.AgeTable",
    .tp_basicsize = sizeof(AgeTable),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "A pairing table in age order (see dissectors/smartlpr/pairing.py).",
    .tp_new = AgeTable_new,
    .tp_dealloc = (destructor)AgeTable_dealloc,
    .tp_traverse = (traverseproc)AgeTable_traverse,
    .tp_clear = (inquiry)AgeTable_tp_clear,
    .tp_methods = AgeTable_methods,
    .tp_as_sequence = &AgeTable_as_sequence,
};

/* -- Pairing ------------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    AgeTable *pending, *answered, *triggers, *refused;
    PyObject *tables;
    PyTypeObject *pending_type, *lean_type;
    PyObject *event, *response;
    PyObject *ack_key, *status_key, *status_response_key, *trigger_key, *license_info_key;
    PyObject *get_picture_key, *picture_key, *get_picture, *picture_seen;
    PyObject *trigger_latency;
    long t_ack, t_status, t_status_response, t_trigger, t_license_info, t_get_picture, t_picture;
    Py_ssize_t max_entries;
    Py_ssize_t slot[N_SLOTS];
} Pairing;

/* -- LeanRecord slots and attributes -------------------------------------------------------- */

static inline PyObject **slot_of(Pairing *self, PyObject *row, int which)
{
    return (PyObject **)((char *)row + self->slot[which]);
}

static inline void set_slot(Pairing *self, PyObject *row, int which, PyObject *value)
{
    PyObject **at = slot_of(self, row, which);
    PyObject *old = *at;
    Py_INCREF(value);
    *at = value;
    Py_XDECREF(old);
}

/* getattr of a Record, or the slot of a LeanRecord (new reference) */
static PyObject *get_field(Pairing *self, PyObject *obj, int which, PyObject *name)
{
    if (Py_TYPE(obj) == self->lean_type) {
        PyObject *value = *slot_of(self, obj, which);
        if (value == NULL) {
            PyErr_SetObject(PyExc_AttributeError, name);
            return NULL;
        }
        Py_INCREF(value);
        return value;
    }
    return PyObject_GetAttr(obj, name);
}

static int set_field(Pairing *self, PyObject *obj, int which, PyObject *name, PyObject *value)
{
    if (Py_TYPE(obj) == self->lean_type) {
        set_slot(self, obj, which, value);
        return 0;
    }
    return PyObject_SetAttr(obj, name, value);
}

/* -- the rules' common case ----------------------------------------------------------------- */

/* Kept from the cycle collector: a tuple of strings and ints, or a LeanRecord (whose slots
 * hold no reference back to it), can be in no reference cycle, and millions of them would
 * otherwise be walked by every collection (CPython untracks such tuples itself, but only
 * after walking them once). */
static PyObject *untracked(PyObject *obj)
{
    if (obj == NULL || !PyObject_GC_IsTracked(obj)) {
        return obj;
    }
    if (PyTuple_Check(obj)) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(obj); i++) {
            if (PyObject_IS_GC(PyTuple_GET_ITEM(obj, i))) {
                return obj; /* not only strings and ints: left to the collector */
            }
        }
    }
    PyObject_GC_UnTrack(obj);
    return obj;
}

/* 1 when the Id's parity fits the opener, 0 when not, -1 on error */
static int parity_ok(Pairing *self, PyObject *conv_id, PyObject *kind)
{
    if (!PyLong_Check(conv_id)) {
        PyErr_SetString(PyExc_TypeError, "Id must be an int");
        return -1;
    }
    unsigned long low = PyLong_AsUnsignedLongMask(conv_id);
    if (low == (unsigned long)-1 && PyErr_Occurred()) {
        return -1;
    }
    return (int)(low & 1) == (kind == self->event);
}

/* 1: recorded as pending; 0: the rules have more to say (nothing changed); -1: error */
static int opened_common(Pairing *self, PyObject *target, PyObject *time_ns, PyObject *kind,
                         const Key *key, PyObject *unit, PyObject *conv_id, PyObject *type,
                         PyObject *version, PyObject *bcc_ok, PyObject *request_body)
{
    int parity = parity_ok(self, conv_id, kind);
    if (parity <= 0) {
        return parity;
    }
    if (self->refused->live || table_find(self->pending, key) != NULL) {
        return 0;
    }
    Entry *answered_entry = table_find(self->answered, key);
    if (answered_entry != NULL) {
        PyObject *answered = answered_entry->value;
        if (!PyTuple_Check(answered) || PyTuple_GET_SIZE(answered) != 4) {
            PyErr_SetString(PyExc_TypeError, "answered entries are 4-tuples");
            return -1;
        }
        int same = PyObject_RichCompareBool(PyTuple_GET_ITEM(answered, 1), type, Py_EQ);
        if (same) {
            return same < 0 ? -1 : 0;
        }
    }
    PyObject *zero = PyLong_FromLong(0);
    PyObject *entry = zero ? self->pending_type->tp_alloc(self->pending_type, 10) : NULL;
    if (entry == NULL) {
        Py_XDECREF(zero);
        return -1;
    }
    PyObject *items[10] = {target, kind, type, conv_id, unit, version, bcc_ok, request_body,
                           time_ns, zero};
    for (int i = 0; i < 9; i++) {
        Py_INCREF(items[i]);
    }
    for (int i = 0; i < 10; i++) {
        PyTuple_SET_ITEM(entry, i, items[i]);
    }
    int failed = table_set(self->pending, key, entry);
    Py_DECREF(entry);
    return failed ? -1 : 1;
}

/* a - b, in C when both are ints of 64 bits and so is the difference */
static PyObject *subtract(PyObject *a, PyObject *b)
{
    if (PyLong_CheckExact(a) && PyLong_CheckExact(b)) {
        int overflow_a = 0, overflow_b = 0;
        long long x = PyLong_AsLongLongAndOverflow(a, &overflow_a);
        long long y = PyLong_AsLongLongAndOverflow(b, &overflow_b);
        long long difference;
        if (!overflow_a && !overflow_b && !__builtin_ssubll_overflow(x, y, &difference)) {
            return PyLong_FromLongLong(difference);
        }
    }
    return PyNumber_Subtract(a, b);
}

/* The request's entry (new reference) when paired; Py_None (new reference) when the rules
 * have more to say (nothing changed); NULL on error. */
static PyObject *replied_common(Pairing *self, PyObject *target, PyObject *time_ns,
                                PyObject *kind, const Key *key, PyObject *type)
{
    Py_ssize_t slot = table_slot(self->pending, key, NULL);
    if (slot < 0) {
        Py_RETURN_NONE;
    }
    PyObject *entry = self->pending->entries[self->pending->index[slot]].value;
    if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 10) {
        PyErr_SetString(PyExc_TypeError, "pending entries are 10-tuples");
        return NULL;
    }
    PyObject *asked = PyTuple_GET_ITEM(entry, 2);
    if (kind == self->response) {
        int right;
        long long asked_v = PyLong_CheckExact(asked) ? as_long_long(asked) : -1;
        long long type_v = PyLong_CheckExact(type) ? as_long_long(type) : -1;
        if (asked_v >= 0 && asked_v < (1LL << 32) && type_v >= 0) {
            right = asked_v + RESPONSE_OFFSET == type_v; /* Types are ints: compared in C */
        } else {
            PyErr_Clear();
            PyObject *offset = PyLong_FromLong(RESPONSE_OFFSET);
            PyObject *expected = offset ? PyNumber_Add(asked, offset) : NULL;
            Py_XDECREF(offset);
            right = expected ? PyObject_RichCompareBool(type, expected, Py_EQ) : -1;
            Py_XDECREF(expected);
        }
        if (right <= 0) {
            if (right < 0) {
                return NULL;
            }
            Py_RETURN_NONE;
        }
    }
    if (self->answered->live >= self->max_entries && table_find(self->answered, key) == NULL) {
        Py_RETURN_NONE;
    }
    /* only ints were compared since the slot was found: it still holds the entry */
    entry = table_take(self->pending, slot);
    PyObject *request = PyTuple_GET_ITEM(entry, 0);
    PyObject *number = NULL, *latency = NULL, *target_number = NULL, *response_in = NULL;
    PyObject *answer = NULL;
    number = get_field(self, request, S_NUMBER, str_number);
    if (number == NULL || set_field(self, target, S_REQUEST_IN, str_request_in, number) < 0) {
        goto error;
    }
    latency = subtract(time_ns, PyTuple_GET_ITEM(entry, 8));
    if (latency == NULL || set_field(self, target, S_LATENCY, str_latency_ns, latency) < 0) {
        goto error;
    }
    target_number = get_field(self, target, S_NUMBER, str_number);
    if (target_number == NULL) {
        goto error;
    }
    response_in = get_field(self, request, S_RESPONSE_IN, str_response_in);
    if (response_in == NULL) {
        goto error;
    }
    if (response_in == Py_None &&
        set_field(self, request, S_RESPONSE_IN, str_response_in, target_number) < 0) {
        goto error;
    }
    answer = untracked(PyTuple_Pack(4, number, asked, target_number, time_ns));
    if (answer == NULL || table_set(self->answered, key, answer) < 0) {
        goto error;
    }
    Py_DECREF(answer);
    Py_DECREF(response_in);
    Py_DECREF(target_number);
    Py_DECREF(latency);
    Py_DECREF(number);
    return entry;
error:
    Py_XDECREF(answer);
    Py_XDECREF(response_in);
    Py_XDECREF(target_number);
    Py_XDECREF(latency);
    Py_XDECREF(number);
    Py_DECREF(entry);
    return NULL;
}

/* 1 when a Trigger with this key may be remembered without pruning, 0 if not, -1 on error */
static int trigger_room(Pairing *self, const Key *key)
{
    return self->triggers->live < self->max_entries || table_find(self->triggers, key) != NULL;
}

/* The unit's clock drift (new reference) when over the bound, else Py_None; NULL on error */
static PyObject *clock_drift(PyObject *timestamp, PyObject *usec, PyObject *time_ns)
{
    int truth = PyObject_IsTrue(timestamp);
    if (truth <= 0) {
        if (truth < 0) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    PyObject *million = PyLong_FromLong(1000000);
    if (million == NULL) {
        return NULL;
    }
    int in_range = PyObject_RichCompareBool(usec, million, Py_LT);
    Py_DECREF(million);
    if (in_range <= 0) {
        if (in_range < 0) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    /* arbitrary ints in, exact Python arithmetic (the common case is a few small ints) */
    PyObject *giga = PyLong_FromLong(1000000000), *kilo = PyLong_FromLong(1000);
    PyObject *a = giga ? PyNumber_Multiply(timestamp, giga) : NULL;
    PyObject *b = kilo ? PyNumber_Multiply(usec, kilo) : NULL;
    PyObject *unit_ns = a && b ? PyNumber_Add(a, b) : NULL;
    PyObject *drift = unit_ns ? PyNumber_Subtract(unit_ns, time_ns) : NULL;
    PyObject *size = drift ? PyNumber_Absolute(drift) : NULL;
    PyObject *bound = PyLong_FromLongLong(CLOCK_DRIFT_NS);
    int over = size && bound ? PyObject_RichCompareBool(size, bound, Py_GT) : -1;
    Py_XDECREF(giga);
    Py_XDECREF(kilo);
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_XDECREF(unit_ns);
    Py_XDECREF(size);
    Py_XDECREF(bound);
    if (over <= 0) {
        Py_XDECREF(drift);
        if (over < 0) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    return drift;
}

static int is_minus_one(PyObject *value)
{
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return !overflow && v == -1;
}

/* -- methods -------------------------------------------------------------------------------- */

static PyObject *Pairing_parity_ok(Pairing *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "parity_ok(conv_id, kind)");
        return NULL;
    }
    int ok = parity_ok(self, args[0], args[1]);
    if (ok < 0) {
        return NULL;
    }
    return PyBool_FromLong(ok);
}

static PyObject *Pairing_clock_drift(Pairing *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "clock_drift(timestamp, usec, time_ns)");
        return NULL;
    }
    return clock_drift(args[0], args[1], args[2]);
}

static PyObject *Pairing_opened(Pairing *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 10) {
        PyErr_SetString(PyExc_TypeError,
                        "opened(target, time_ns, kind, hosts, unit_id, conv_id, message_type, "
                        "version, bcc_ok, request_body)");
        return NULL;
    }
    Key key;
    if (full_key(&key, args[3], args[4], args[5]) < 0) {
        return NULL;
    }
    int done = opened_common(self, args[0], args[1], args[2], &key, args[4], args[5], args[6],
                             args[7], args[8], args[9]);
    if (done < 0) {
        return NULL;
    }
    return PyBool_FromLong(done);
}

static PyObject *Pairing_replied(Pairing *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "replied(target, time_ns, kind, hosts, unit_id, "
                                         "conv_id, message_type)");
        return NULL;
    }
    Key key;
    if (full_key(&key, args[3], args[4], args[5]) < 0) {
        return NULL;
    }
    return replied_common(self, args[0], args[1], args[2], &key, args[6]);
}

static PyObject *Pairing_trigger_seen(Pairing *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError,
                        "trigger_seen(hosts, unit_id, trigger_id, number, time_ns)");
        return NULL;
    }
    Key key;
    if (full_key(&key, args[0], args[1], args[2]) < 0) {
        return NULL;
    }
    if (!trigger_room(self, &key)) {
        Py_RETURN_FALSE;
    }
    PyObject *value = untracked(PyTuple_Pack(2, args[3], args[4]));
    int failed = value == NULL || table_set(self->triggers, &key, value) < 0;
    Py_XDECREF(value);
    if (failed) {
        return NULL;
    }
    Py_RETURN_TRUE;
}

/* borrowed reference or NULL (with an error set only on error) */
static PyObject *trigger_of(Pairing *self, PyObject *hosts, Py_hash_t hash, PyObject *unit,
                            PyObject *trigger_id)
{
    if (is_minus_one(trigger_id)) {
        return NULL;
    }
    Key key;
    if (key_of(&key, hosts, hash, unit, trigger_id) < 0) {
        return NULL;
    }
    Entry *found = table_find(self->triggers, &key);
    return found != NULL ? found->value : NULL;
}

static PyObject *Pairing_trigger_of(Pairing *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "trigger_of(hosts, unit_id, trigger_id)");
        return NULL;
    }
    Py_hash_t hash = hosts_hash(args[0]);
    PyObject *found = hash == -1 ? NULL : trigger_of(self, args[0], hash, args[1], args[2]);
    if (found == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    Py_INCREF(found);
    return found;
}

/* -- take_run ------------------------------------------------------------------------------- */

typedef struct {
    int role;
    PyObject *key;
    int32_t trigger_id;
    uint32_t timestamp, usec, car_id;
} Lean;

/* lean_form of pairing.py: 1 with *lean filled, 0 when the frame must be decoded in full */
static int lean_form(Pairing *self, const unsigned char *data, Py_ssize_t size_of_data,
                     Py_ssize_t offset, Py_ssize_t length, long long size, long long type,
                     long long version, int bcc_ok, Lean *lean)
{
    if (!bcc_ok || size != length || offset < 0 || length < LEN_OVERHEAD ||
        offset > size_of_data - length) {
        return 0;
    }
    const unsigned char *frame = data + offset;
    if (type == self->t_ack || type == self->t_status) {
        if (length != LEN_OVERHEAD) {
            return 0;
        }
        int ack = type == self->t_ack;
        lean->role = ack ? REPLY : OPENER;
        lean->key = ack ? self->ack_key : self->status_key;
        return 1;
    }
    if (type == self->t_status_response) {
        /* codec.unit_healthy: Actv and Cam both 1 */
        if (length != LEN_OVERHEAD + 3 || frame[LEN_HEADER] != 1 || frame[LEN_HEADER + 2] != 1) {
            return 0;
        }
        lean->role = REPLY;
        lean->key = self->status_response_key;
        return 1;
    }
    if (type == self->t_trigger) {
        if (length != LEN_OVERHEAD + 4) {
            return 0;
        }
        lean->role = TRIGGER_OPENER;
        lean->key = self->trigger_key;
        lean->trigger_id = (int32_t)le32(frame + LEN_HEADER);
        return 1;
    }
    if (type == self->t_license_info && version == 2 && length == LEN_OVERHEAD + 169) {
        const unsigned char *body = frame + LEN_HEADER;
        uint32_t timestamp = le32(body + 8), usec = le32(body + 12);
        /* codec.valid_timestamp */
        if (timestamp == 0 || usec >= 1000000) {
            return 0;
        }
        for (int i = 56; i < 96; i++) {
            if (body[i] > MAX_QUALITY) {
                return 0;
            }
        }
        lean->role = PLATE_OPENER;
        lean->key = self->license_info_key;
        lean->trigger_id = (int32_t)le32(body + 4);
        lean->timestamp = timestamp;
        lean->usec = usec;
        return 1;
    }
    if (type == self->t_get_picture) {
        if (length != LEN_OVERHEAD + 4) {
            return 0;
        }
        lean->role = PICTURE_OPENER;
        lean->key = self->get_picture_key;
        lean->car_id = le32(frame + LEN_HEADER);
        return 1;
    }
    if (type == self->t_picture) {
        if (!plain_picture(frame + LEN_HEADER, length - LEN_OVERHEAD)) {
            return 0;
        }
        lean->role = PICTURE_REPLY;
        lean->key = self->picture_key;
        return 1;
    }
    return 0;
}

static PyObject *new_row(Pairing *self, PyObject *number, PyObject *side, PyObject *time_ns,
                         PyObject *length, PyObject *key, PyObject *data, PyObject *offset,
                         PyObject *stream_start)
{
    PyObject *row = untracked(self->lean_type->tp_alloc(self->lean_type, 0));
    if (row == NULL) {
        return NULL;
    }
    set_slot(self, row, S_NUMBER, number);
    set_slot(self, row, S_SIDE, side);
    set_slot(self, row, S_TIME, time_ns);
    set_slot(self, row, S_LENGTH, length);
    set_slot(self, row, S_KEY, key);
    set_slot(self, row, S_PROBLEMS, Py_None);
    set_slot(self, row, S_REQUEST_IN, Py_None);
    set_slot(self, row, S_RESPONSE_IN, Py_None);
    set_slot(self, row, S_LATENCY, Py_None);
    set_slot(self, row, S_DATA, data);
    set_slot(self, row, S_OFFSET, offset);
    set_slot(self, row, S_STREAM_START, stream_start);
    set_slot(self, row, S_TEXTS, Py_None);
    return row;
}

/* decimal digits of `value` at `out`; their count */
static int put_decimal(char *out, unsigned long long value)
{
    char digits[20];
    int count = 0;
    do {
        digits[count++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    for (int i = 0; i < count; i++) {
        out[i] = digits[count - 1 - i];
    }
    return count;
}

static int put_signed(char *out, long long value)
{
    if (value < 0) {
        out[0] = '-';
        return 1 + put_decimal(out + 1, 0ULL - (unsigned long long)value);
    }
    return put_decimal(out, (unsigned long long)value);
}

static int put_text(char *out, const char *text)
{
    size_t size = strlen(text);
    memcpy(out, text, size);
    return (int)size;
}

/* pairing.trigger_latency_text: f"plate read {(time_ns - trigger_ns) / 1e6:.1f} ms after
 * Trigger {trigger_id} (#{number})", `trigger` the triggers table's (number, time_ns).
 * The latency in tenths of a ms from the integer ns: Python rounds the double nearest to
 * delta / 1e6, which is within 1e-7 ms of it below 1e14 ns, closer than any ns is to a
 * midpoint; an exact midpoint (or more) goes to glibc's "%.1f", which rounds the double
 * correctly, half to even, as Python's does. */
static PyObject *trigger_latency_text(PyObject *time_ns, PyObject *trigger, int32_t trigger_id)
{
    if (!PyTuple_Check(trigger) || PyTuple_GET_SIZE(trigger) != 2) {
        PyErr_SetString(PyExc_TypeError, "a trigger entry is (number, time_ns)");
        return NULL;
    }
    long long now = as_long_long(time_ns);
    long long then = as_long_long(PyTuple_GET_ITEM(trigger, 1));
    long long number = as_long_long(PyTuple_GET_ITEM(trigger, 0));
    if (PyErr_Occurred()) {
        return NULL;
    }
    long long delta;
    if (__builtin_sub_overflow(now, then, &delta)) {
        PyErr_SetString(PyExc_OverflowError, "trigger latency beyond 64 bits");
        return NULL;
    }
    char text[160];
    int size = put_text(text, "plate read ");
    unsigned long long magnitude = delta < 0 ? 0ULL - (unsigned long long)delta
                                             : (unsigned long long)delta;
    unsigned long long tenths = magnitude / 100000, rest = magnitude % 100000;
    if (magnitude < 100000000000000ULL && rest != 50000) {
        tenths += rest > 50000;
        if (delta < 0) {
            text[size++] = '-';
        }
        size += put_decimal(text + size, tenths / 10);
        text[size++] = '.';
        text[size++] = (char)('0' + tenths % 10);
    } else {
        size += snprintf(text + size, 64, "%.1f", (double)delta / 1e6);
    }
    size += put_text(text + size, " ms after Trigger ");
    size += put_signed(text + size, trigger_id);
    size += put_text(text + size, " (#");
    size += put_signed(text + size, number);
    text[size++] = ')';
    PyObject *result = PyUnicode_New(size, 127); /* all ASCII */
    if (result != NULL) {
        memcpy(PyUnicode_1BYTE_DATA(result), text, (size_t)size);
    }
    return result;
}

/* index in the arrival offsets of the chunk holding stream offset `at`
 * (bisect_right - 1, at least 0) */
static Py_ssize_t chunk_at(PyObject *offsets, long long at, int *error)
{
    Py_ssize_t lo = 0, hi = PySequence_Fast_GET_SIZE(offsets);
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        long long value = as_long_long(PySequence_Fast_GET_ITEM(offsets, mid));
        if (value == -1 && PyErr_Occurred()) {
            *error = 1;
            return 0;
        }
        if (at < value) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo > 0 ? lo - 1 : 0;
}

/* The frames index onwards of a run (take_run's arguments, checked), numbered from
 * number + 1, while each has a lean form and the common case of every rule: the index of
 * the first frame not taken, the last number used and the latest time seen (0: none) in
 * *taken; -1 with an exception on error. */
typedef struct {
    Py_ssize_t index;
    long long number, latest;
} Taken;

/* A run's headers: take_run's list of tuples, or the Lane's scan (a FrameHeader array) */
typedef struct {
    PyObject *list;
    const FrameHeader *array;
    Py_ssize_t count;
} Headers;

static inline Py_ssize_t headers_count(const Headers *headers)
{
    return headers->list != NULL ? PyList_GET_SIZE(headers->list) : headers->count;
}

/* Header i into *h: 1 read, 0 not a header this kernel understands (the Python path will say
 * what it is), -1 with an exception (not an 8-tuple) */
static int header_at(const Headers *headers, Py_ssize_t i, FrameHeader *h)
{
    if (headers->list == NULL) {
        *h = headers->array[i];
        return 1;
    }
    PyObject *header = PyList_GET_ITEM(headers->list, i);
    if (!PyTuple_Check(header) || PyTuple_GET_SIZE(header) != 8) {
        PyErr_SetString(PyExc_TypeError, "headers are 8-tuples");
        return -1;
    }
    long long *fields[7] = {&h->offset, &h->length, &h->unit, &h->size,
                            &h->type,   &h->version, &h->id};
    for (int k = 0; k < 7; k++) {
        PyObject *item = PyTuple_GET_ITEM(header, k);
        *fields[k] = PyLong_Check(item) ? as_long_long(item) : -1;
        if (!PyLong_Check(item) || (*fields[k] == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return 0;
        }
    }
    h->bcc_ok = PyObject_IsTrue(PyTuple_GET_ITEM(header, 7));
    if (h->bcc_ok < 0) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

static int take_frames(Pairing *self, PyObject *side, PyObject *data, PyObject *start_obj,
                       const Headers *headers, PyObject *offsets, PyObject *times,
                       PyObject *hosts, Py_hash_t hash, long long number, PyObject *out,
                       int rows, Py_ssize_t index, Taken *taken_out)
{
    long long start = as_long_long(start_obj);
    if (start == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (index < 0) {
        index = 0;
    }
    const unsigned char *bytes = (const unsigned char *)PyBytes_AS_STRING(data);
    Py_ssize_t size_of_data = PyBytes_GET_SIZE(data);
    Py_ssize_t n_times = PySequence_Fast_GET_SIZE(times);
    long long latest = 0;
    int seen = 0;
    /* the chunk of the current frame and where the next chunk starts (-1: none) */
    Py_ssize_t chunk = -1;
    long long next_chunk = -1;
    int error = 0;
    while (index < headers_count(headers)) {
        FrameHeader h;
        int readable = header_at(headers, index, &h);
        if (readable < 0) {
            goto error;
        }
        if (!readable) {
            break;
        }
        long long offset = h.offset, length = h.length, size = h.size, type = h.type;
        long long version = h.version;
        int bcc_ok = h.bcc_ok;
        Lean lean = {0};
        if (!lean_form(self, bytes, size_of_data, (Py_ssize_t)offset, (Py_ssize_t)length, size,
                       type, version, bcc_ok, &lean)) {
            break;
        }
        /* the arrival time: per frame, or per chunk from its stream offset on */
        PyObject *time_ns;
        if (offsets == Py_None) {
            if (index >= n_times) {
                PyErr_SetString(PyExc_IndexError, "a time per frame is needed");
                goto error;
            }
            time_ns = PySequence_Fast_GET_ITEM(times, index);
        } else if (n_times == 0) {
            time_ns = NULL;
        } else {
            long long at = start + offset;
            if (chunk < 0 || (next_chunk >= 0 && next_chunk <= at)) {
                chunk = chunk_at(offsets, at, &error);
                if (!error && chunk >= n_times) {
                    PyErr_SetString(PyExc_IndexError, "a time per chunk is needed");
                    error = 1;
                }
                next_chunk = -1;
                if (!error && chunk + 1 < PySequence_Fast_GET_SIZE(offsets)) {
                    next_chunk = as_long_long(PySequence_Fast_GET_ITEM(offsets, chunk + 1));
                    error = next_chunk == -1 && PyErr_Occurred();
                }
                if (error) {
                    goto error;
                }
            }
            time_ns = PySequence_Fast_GET_ITEM(times, chunk);
        }
        /* owned for the iteration: the rules may run Python code */
        if (time_ns == NULL) {
            time_ns = PyLong_FromLong(0);
            if (time_ns == NULL) {
                goto error;
            }
        } else {
            Py_INCREF(time_ns);
        }
        /* the header's ints a row and the tables keep (Id and Version: openers only) */
        PyObject *offset_obj = PyLong_FromLongLong(offset);
        PyObject *length_obj = PyLong_FromLongLong(length);
        PyObject *unit_obj = PyLong_FromLongLong(h.unit);
        PyObject *type_obj = PyLong_FromLongLong(type);
        PyObject *number_obj = PyLong_FromLongLong(number + 1);
        int opener = lean.role != REPLY && lean.role != PICTURE_REPLY;
        PyObject *id_obj = opener ? PyLong_FromLongLong(h.id) : NULL;
        PyObject *version_obj = opener ? PyLong_FromLongLong(version) : NULL;
        int made = offset_obj && length_obj && unit_obj && type_obj && number_obj &&
                   (!opener || (id_obj && version_obj));
        PyObject *row = made ? new_row(self, number_obj, side, time_ns, length_obj, lean.key,
                                       data, offset_obj, start_obj)
                             : NULL;
        PyObject *kind = PyTuple_GET_ITEM(lean.key, 2);
        Key key, trigger_key;
        int taken = row == NULL ? -1 : 0;
        key_ints(&key, hosts, hash, h.unit, h.id);
        if (opener) {
            key_ints(&trigger_key, hosts, hash, key.unit, lean.trigger_id);
        }
        if (taken < 0) {
            /* an error: left as it is */
        } else if (lean.role == REPLY || lean.role == PICTURE_REPLY) {
            int picture = lean.role == PICTURE_REPLY;
            PyObject *entry = picture && self->picture_seen == Py_None
                                  ? Py_NewRef(Py_None)
                                  : replied_common(self, row, time_ns, kind, &key, type_obj);
            taken = entry == NULL ? -1 : entry != Py_None;
            if (taken == 1 && picture) {
                PyObject *done = PyObject_CallFunctionObjArgs(self->picture_seen, row, unit_obj,
                                                              entry, NULL);
                taken = done == NULL ? -1 : 1;
                Py_XDECREF(done);
            }
            Py_XDECREF(entry);
        } else {
            int ready = 1;
            /* every check before anything changes: a frame is taken whole or not at all */
            if (lean.role == TRIGGER_OPENER) {
                ready = trigger_room(self, &trigger_key);
            } else if (lean.role == PLATE_OPENER) {
                long long unit_ns = (long long)lean.timestamp * 1000000000LL +
                                    (long long)lean.usec * 1000LL;
                int overflow = 0;
                long long now = PyLong_AsLongLongAndOverflow(time_ns, &overflow);
                if (now == -1 && PyErr_Occurred()) {
                    ready = -1;
                } else if (overflow) {
                    ready = 0;
                } else {
                    long long drift = unit_ns - now;
                    ready = !(drift > CLOCK_DRIFT_NS || drift < -CLOCK_DRIFT_NS);
                }
            }
            PyObject *request_body = Py_NewRef(Py_None);
            if (ready == 1 && lean.role == PICTURE_OPENER) {
                PyObject *car_id = PyLong_FromUnsignedLong(lean.car_id);
                Py_SETREF(request_body,
                          car_id ? PyObject_CallOneArg(self->get_picture, car_id) : NULL);
                Py_XDECREF(car_id);
                ready = request_body == NULL ? -1 : 1;
            }
            if (ready == 1) {
                taken = opened_common(self, row, time_ns, kind, &key, unit_obj, id_obj, type_obj,
                                      version_obj, Py_True, request_body);
            } else {
                taken = ready;
            }
            Py_XDECREF(request_body);
            if (taken == 1 && lean.role == TRIGGER_OPENER) {
                PyObject *value = untracked(PyTuple_Pack(2, number_obj, time_ns));
                if (value == NULL || table_set(self->triggers, &trigger_key, value) < 0) {
                    taken = -1;
                }
                Py_XDECREF(value);
            } else if (taken == 1 && lean.role == PLATE_OPENER) {
                Entry *trigger = lean.trigger_id != -1 ? table_find(self->triggers, &trigger_key)
                                                       : NULL;
                if (trigger != NULL) {
                    PyObject *problems = PyList_New(1);
                    PyObject *text = trigger_latency_text(time_ns, trigger->value,
                                                          lean.trigger_id);
                    PyObject *texts = text != NULL ? PyList_New(1) : NULL;
                    if (problems == NULL || texts == NULL) {
                        taken = -1;
                        Py_XDECREF(text);
                    } else {
                        Py_INCREF(self->trigger_latency);
                        PyList_SET_ITEM(problems, 0, self->trigger_latency);
                        PyList_SET_ITEM(texts, 0, text);
                        set_slot(self, row, S_PROBLEMS, problems);
                        set_slot(self, row, S_TEXTS, texts);
                    }
                    Py_XDECREF(problems);
                    Py_XDECREF(texts);
                }
            }
        }
        if (taken == 1) {
            long long now = as_long_long(time_ns);
            if (now == -1 && PyErr_Occurred()) {
                taken = -1;
            } else if (!seen || now > latest) {
                latest = now;
                seen = 1;
            }
            if (taken == 1 && rows && PyList_Append(out, row) < 0) {
                taken = -1;
            }
        }
        Py_XDECREF(row);
        Py_XDECREF(number_obj);
        Py_XDECREF(offset_obj);
        Py_XDECREF(length_obj);
        Py_XDECREF(unit_obj);
        Py_XDECREF(type_obj);
        Py_XDECREF(id_obj);
        Py_XDECREF(version_obj);
        Py_DECREF(time_ns);
        if (taken < 0) {
            goto error;
        }
        if (!taken) {
            break;
        }
        number += 1;
        index += 1;
    }
    taken_out->index = index;
    taken_out->number = number;
    taken_out->latest = latest;
    return 0;
error:
    return -1;
}

static PyObject *Pairing_take_run(Pairing *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 11) {
        PyErr_SetString(PyExc_TypeError, "take_run(side, data, start, headers, offsets, times, "
                                         "hosts, number, out, rows, index)");
        return NULL;
    }
    PyObject *side = args[0], *data = args[1], *headers = args[3], *offsets = args[4];
    PyObject *times = args[5], *hosts = args[6], *out = args[8];
    long long number = as_long_long(args[7]);
    Py_ssize_t index = PyLong_AsSsize_t(args[10]);
    int rows = PyObject_IsTrue(args[9]);
    if (PyErr_Occurred() || rows < 0) {
        return NULL;
    }
    if (!PyBytes_Check(data) || !PyList_Check(headers) || !PyList_Check(out) ||
        !(offsets == Py_None || PyTuple_Check(offsets) || PyList_Check(offsets)) ||
        !(PyTuple_Check(times) || PyList_Check(times)) ||
        !PyTuple_Check(hosts) || PyTuple_GET_SIZE(hosts) != 2) {
        PyErr_SetString(PyExc_TypeError,
                        "take_run wants bytes, a list of headers, offsets as a sequence or None, "
                        "times as a sequence, hosts as a 2-tuple and a list out");
        return NULL;
    }
    Py_hash_t hash = hosts_hash(hosts);
    Taken taken;
    Headers listed = {headers, NULL, 0};
    if (hash == -1 || take_frames(self, side, data, args[2], &listed, offsets, times, hosts,
                                  hash, number, out, rows, index, &taken) < 0) {
        return NULL;
    }
    return Py_BuildValue("(nLL)", taken.index, taken.number, taken.latest);
}

/* A piece's bytes and time, borrowed (a tuple: its first two items) or owned (attributes):
 * 1 read, 0 not (an error set), with *owned telling whether to release them. */
static int piece_parts(PyObject *piece, PyObject **data, PyObject **time_ns, int *owned)
{
    if (PyTuple_Check(piece) && PyTuple_GET_SIZE(piece) >= 2) {
        *data = PyTuple_GET_ITEM(piece, 0);
        *time_ns = PyTuple_GET_ITEM(piece, 1);
        *owned = 0;
        return 1;
    }
    *data = PyObject_GetAttr(piece, str_data);
    *time_ns = *data == NULL ? NULL : PyObject_GetAttr(piece, str_time_ns);
    if (*time_ns == NULL) {
        Py_XDECREF(*data);
        return 0;
    }
    *owned = 1;
    return 1;
}

#define SCAN_ROOM 128 /* headers scanned on the stack: a TCP segment's frames, and more */

/* The headers of the frames that make up bytes exactly (frame_at, the cut's Size reading and
 * bounds) into *array, which starts as the caller's `room` of SCAN_ROOM and moves to a
 * PyMem block the caller frees when there are more: their count, -1 when the bytes are not
 * exactly such frames, -2 with an exception. */
static Py_ssize_t scan_whole(const unsigned char *bytes, Py_ssize_t size, const long long cut[3],
                             FrameHeader *room, FrameHeader **array)
{
    Py_ssize_t count = 0, capacity = SCAN_ROOM, pos = 0;
    *array = room;
    FrameHeader h;
    while (frame_at(bytes, pos, size, cut[0], cut[1], cut[2], &h)) {
        if (count == capacity) {
            FrameHeader *more = PyMem_Malloc(sizeof(FrameHeader) * (size_t)capacity * 2);
            if (more == NULL) {
                PyErr_NoMemory();
                return -2;
            }
            memcpy(more, *array, sizeof(FrameHeader) * (size_t)count);
            if (*array != room) {
                PyMem_Free(*array);
            }
            *array = more;
            capacity *= 2;
        }
        (*array)[count++] = h;
        pos += (Py_ssize_t)h.length;
    }
    return pos == size && count > 0 ? count : -1;
}

/* One chunk of Lane.read: 1 taken whole (the stream moved past it), 0 not a chunk of
 * whole frames (nothing changed), -1 error; *partial gets (start, headers, index) when
 * take_frames stopped in it (its headers as the tuples rest() reads). */
static int take_piece(Pairing *self, PyObject *side, PyObject *data, PyObject *time_ns,
                      long long base, const long long cut[3], PyObject *hosts, Py_hash_t hash,
                      PyObject *out, int rows, Taken *taken, PyObject **partial)
{
    if (!PyBytes_CheckExact(data) || PyBytes_GET_SIZE(data) == 0) {
        return 0;
    }
    const unsigned char *bytes = (const unsigned char *)PyBytes_AS_STRING(data);
    FrameHeader room[SCAN_ROOM], *array;
    Py_ssize_t count = scan_whole(bytes, PyBytes_GET_SIZE(data), cut, room, &array);
    if (count < 0) {
        if (array != room) {
            PyMem_Free(array);
        }
        return count == -1 ? 0 : -1;
    }
    Headers scanned = {NULL, array, count};
    PyObject *start = PyLong_FromLongLong(base);
    PyObject *offsets = start == NULL ? NULL : PyTuple_Pack(1, start);
    PyObject *times = offsets == NULL ? NULL : PyTuple_Pack(1, time_ns);
    int result = -1;
    if (times != NULL && take_frames(self, side, data, start, &scanned, offsets, times, hosts,
                                     hash, taken->number, out, rows, 0, taken) == 0) {
        result = 1;
        if (taken->index < count) {
            PyObject *headers = PyList_New(count);
            for (Py_ssize_t i = 0; headers != NULL && i < count; i++) {
                PyObject *item = header_tuple(&array[i]);
                if (item == NULL) {
                    Py_CLEAR(headers);
                    break;
                }
                PyList_SET_ITEM(headers, i, item);
            }
            *partial = headers == NULL ? NULL
                                       : Py_BuildValue("(OOn)", start, headers, taken->index);
            Py_XDECREF(headers);
            result = *partial == NULL ? -1 : 1;
        }
    }
    Py_XDECREF(times);
    Py_XDECREF(offsets);
    Py_XDECREF(start);
    if (array != room) {
        PyMem_Free(array);
    }
    return result;
}

/* -- the type ------------------------------------------------------------------------------- */

static int Pairing_init(Pairing *self, PyObject *args, PyObject *kwds)
{
    PyObject *tables, *shapes;
    Py_ssize_t max_entries;
    if (!PyArg_ParseTuple(args, "OOn", &tables, &shapes, &max_entries)) {
        return -1;
    }
    if (!PyTuple_Check(tables) || PyTuple_GET_SIZE(tables) != 4 || !PyTuple_Check(shapes) ||
        PyTuple_GET_SIZE(shapes) != 15) {
        PyErr_SetString(PyExc_TypeError, "Pairing(Tables, Shapes, max_entries)");
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        if (!Py_IS_TYPE(PyTuple_GET_ITEM(tables, i), &AgeTableType)) {
            PyErr_SetString(PyExc_TypeError, "the tables must be AgeTables");
            return -1;
        }
    }
    PyObject *pending_type = PyTuple_GET_ITEM(shapes, 0), *lean_type = PyTuple_GET_ITEM(shapes, 1);
    if (!PyType_Check(pending_type) || !PyType_IsSubtype((PyTypeObject *)pending_type,
                                                         &PyTuple_Type) ||
        !PyType_Check(lean_type)) {
        PyErr_SetString(PyExc_TypeError, "Shapes: a tuple type, then a class");
        return -1;
    }
    for (int i = 2; i < 13; i++) {
        PyObject *key = PyTuple_GET_ITEM(shapes, i);
        if (((i >= 4 && i < 9) || i >= 11) && (!PyTuple_Check(key) || PyTuple_GET_SIZE(key) != 3)) {
            PyErr_SetString(PyExc_TypeError, "Shapes: stats keys are 3-tuples");
            return -1;
        }
    }
    for (int i = 0; i < N_SLOTS; i++) {
        PyObject *descr = PyObject_GetAttrString(lean_type, slot_names[i]);
        if (descr == NULL) {
            return -1;
        }
        int member = Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
                     ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX;
        if (member) {
            self->slot[i] = ((PyMemberDescrObject *)descr)->d_member->offset;
        }
        Py_DECREF(descr);
        if (!member) {
            PyErr_Format(PyExc_TypeError, "the lean type needs a slot %s", slot_names[i]);
            return -1;
        }
    }
#define KEEP(field, value)                                                                     \
    do {                                                                                       \
        PyObject *old_ = (PyObject *)self->field;                                              \
        Py_INCREF(value);                                                                      \
        self->field = (void *)(value);                                                         \
        Py_XDECREF(old_);                                                                      \
    } while (0)
    KEEP(tables, tables);
    KEEP(pending, PyTuple_GET_ITEM(tables, 0));
    KEEP(answered, PyTuple_GET_ITEM(tables, 1));
    KEEP(triggers, PyTuple_GET_ITEM(tables, 2));
    KEEP(refused, PyTuple_GET_ITEM(tables, 3));
    KEEP(pending_type, pending_type);
    KEEP(lean_type, lean_type);
    KEEP(event, PyTuple_GET_ITEM(shapes, 2));
    KEEP(response, PyTuple_GET_ITEM(shapes, 3));
    KEEP(ack_key, PyTuple_GET_ITEM(shapes, 4));
    KEEP(status_key, PyTuple_GET_ITEM(shapes, 5));
    KEEP(status_response_key, PyTuple_GET_ITEM(shapes, 6));
    KEEP(trigger_key, PyTuple_GET_ITEM(shapes, 7));
    KEEP(license_info_key, PyTuple_GET_ITEM(shapes, 8));
    KEEP(trigger_latency, PyTuple_GET_ITEM(shapes, 9));
    KEEP(get_picture_key, PyTuple_GET_ITEM(shapes, 11));
    KEEP(picture_key, PyTuple_GET_ITEM(shapes, 12));
    KEEP(get_picture, PyTuple_GET_ITEM(shapes, 13));
    KEEP(picture_seen, PyTuple_GET_ITEM(shapes, 14));
#undef KEEP
    self->max_entries = max_entries;
    PyObject *types = PyTuple_GET_ITEM(shapes, 10);
    if (!PyArg_ParseTuple(types, "lllllll;Shapes: seven Type codes", &self->t_ack,
                          &self->t_status, &self->t_status_response, &self->t_trigger,
                          &self->t_license_info, &self->t_get_picture, &self->t_picture)) {
        return -1;
    }
    return 0;
}

static int Pairing_traverse(Pairing *self, visitproc visit, void *arg)
{
    Py_VISIT(self->tables);
    Py_VISIT(self->pending);
    Py_VISIT(self->answered);
    Py_VISIT(self->triggers);
    Py_VISIT(self->refused);
    Py_VISIT(self->pending_type);
    Py_VISIT(self->lean_type);
    Py_VISIT(self->event);
    Py_VISIT(self->response);
    Py_VISIT(self->ack_key);
    Py_VISIT(self->status_key);
    Py_VISIT(self->status_response_key);
    Py_VISIT(self->trigger_key);
    Py_VISIT(self->license_info_key);
    Py_VISIT(self->trigger_latency);
    Py_VISIT(self->get_picture_key);
    Py_VISIT(self->picture_key);
    Py_VISIT(self->get_picture);
    Py_VISIT(self->picture_seen);
    return 0;
}

static int Pairing_clear(Pairing *self)
{
    Py_CLEAR(self->tables);
    Py_CLEAR(self->pending);
    Py_CLEAR(self->answered);
    Py_CLEAR(self->triggers);
    Py_CLEAR(self->refused);
    Py_CLEAR(self->pending_type);
    Py_CLEAR(self->lean_type);
    Py_CLEAR(self->event);
    Py_CLEAR(self->response);
    Py_CLEAR(self->ack_key);
    Py_CLEAR(self->status_key);
    Py_CLEAR(self->status_response_key);
    Py_CLEAR(self->trigger_key);
    Py_CLEAR(self->license_info_key);
    Py_CLEAR(self->trigger_latency);
    Py_CLEAR(self->get_picture_key);
    Py_CLEAR(self->picture_key);
    Py_CLEAR(self->get_picture);
    Py_CLEAR(self->picture_seen);
    return 0;
}

static void Pairing_dealloc(Pairing *self)
{
    PyObject_GC_UnTrack(self);
    Pairing_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Pairing_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    Pairing *self = (Pairing *)type->tp_alloc(type, 0);
    return (PyObject *)self;
}

/* a method called before __init__ finds no tables */
static PyObject *not_ready(void)
{
    PyErr_SetString(PyExc_RuntimeError, "not initialised: call __init__ first");
    return NULL;
}

#define GUARDED(name)                                                                          \
    static PyObject *guarded_##name(Pairing *self, PyObject *const *args, Py_ssize_t nargs)    \
    {                                                                                          \
        if (self->pending == NULL) {                                                           \
            return not_ready();                                                                \
        }                                                                                      \
        return Pairing_##name(self, args, nargs);                                              \
    }
GUARDED(parity_ok)
GUARDED(clock_drift)
GUARDED(opened)
GUARDED(replied)
GUARDED(trigger_seen)
GUARDED(trigger_of)
GUARDED(take_run)

static PyMethodDef Pairing_methods[] = {
    {"parity_ok", (PyCFunction)(void (*)(void))guarded_parity_ok, METH_FASTCALL, NULL},
    {"clock_drift", (PyCFunction)(void (*)(void))guarded_clock_drift, METH_FASTCALL, NULL},
    {"opened", (PyCFunction)(void (*)(void))guarded_opened, METH_FASTCALL, NULL},
    {"replied", (PyCFunction)(void (*)(void))guarded_replied, METH_FASTCALL, NULL},
    {"trigger_seen", (PyCFunction)(void (*)(void))guarded_trigger_seen, METH_FASTCALL, NULL},
    {"trigger_of", (PyCFunction)(void (*)(void))guarded_trigger_of, METH_FASTCALL, NULL},
    {"take_run", (PyCFunction)(void (*)(void))guarded_take_run, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef Pairing_members[] = {
    {"tables", T_OBJECT, offsetof(Pairing, tables), READONLY, "the tables it works on"},
    {NULL},
};

static PyTypeObject PairingType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "dissectors._smartlpr_pairing.Pairing",
    .tp_basicsize = sizeof(Pairing),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The common case of SmartLPR pairing (see dissectors/smartlpr/pairing.py).",
    .tp_new = Pairing_new,
    .tp_init = (initproc)Pairing_init,
    .tp_dealloc = (destructor)Pairing_dealloc,
    .tp_traverse = (traverseproc)Pairing_traverse,
    .tp_clear = (inquiry)Pairing_clear,
    .tp_methods = Pairing_methods,
    .tp_members = Pairing_members,
};


/* -- Lane: runs of chunks of whole frames, across link sides ---------------------------------
 *
 * runs.WholeLanePython is the reference. Lane(pairing, rest, saw, spill, rows, max_frame,
 * max_code) (the frame and code bounds of smartlpr_scan) reads the chunks of the sides added
 * to it, run after run, as take_run reads each chunk's run of frames when the chunk is
 * exactly a run of whole frames on an empty framer; rest(side, hosts, data, time_ns, start,
 * headers, index, number, out) takes a chunk's frames from the first that take_run stopped at
 * (runs._read_rest), saw(latest) tells the matcher the latest time paired, and any other chunk
 * goes to spill(info, side, data, time_ns, number, out), the pipeline's usual way (a picture
 * spread over several segments). It reads and moves each framer's stream offset through the
 * framer's own slots (_base, _preferred, _buf, header_runs: those SmartLprFramer.whole_place
 * reads).
 */

enum { F_BASE, F_PREFERRED, F_BUF, F_HEADER_RUNS, N_FRAMER_SLOTS };
static const char *framer_slot_names[N_FRAMER_SLOTS] = {"_base", "_preferred", "_buf",
                                                        "header_runs"};

typedef struct {
    PyObject *info; /* NULL: free */
    PyObject *linkside, *hosts, *framer, *offsets;
    Py_hash_t hash;
    int side;
} LaneSide;

typedef struct {
    PyObject_HEAD
    Pairing *pairing;
    PyObject *rest, *saw, *spill;
    int rows;
    long long max_frame, max_code;
    PyTypeObject *framer_type;
    Py_ssize_t framer_slot[N_FRAMER_SLOTS];
    LaneSide *sides;
    Py_ssize_t count, capacity, last;
    PyObject *where; /* {info address * 2 + side: place in sides} */
} Lane;

static PyTypeObject LaneType;

static void lane_side_clear(LaneSide *entry)
{
    Py_CLEAR(entry->info);
    Py_CLEAR(entry->linkside);
    Py_CLEAR(entry->hosts);
    Py_CLEAR(entry->framer);
    Py_CLEAR(entry->offsets);
}

static inline PyObject *framer_slot(Lane *self, PyObject *framer, int which)
{
    return *(PyObject **)((char *)framer + self->framer_slot[which]);
}

static int Lane_init(Lane *self, PyObject *args, PyObject *kwds)
{
    PyObject *pairing, *rest, *saw, *spill;
    int rows;
    long long max_frame, max_code;
    if (!PyArg_ParseTuple(args, "O!OOOpLL", &PairingType, &pairing, &rest, &saw, &spill, &rows,
                          &max_frame, &max_code)) {
        return -1;
    }
    self->max_frame = max_frame;
    self->max_code = max_code;
    if (self->where == NULL && (self->where = PyDict_New()) == NULL) {
        return -1;
    }
    Py_INCREF(pairing);
    Py_INCREF(rest);
    Py_INCREF(saw);
    Py_INCREF(spill);
    Py_XSETREF(self->pairing, (Pairing *)pairing);
    Py_XSETREF(self->rest, rest);
    Py_XSETREF(self->saw, saw);
    Py_XSETREF(self->spill, spill);
    self->rows = rows;
    return 0;
}

/* The framer's slot offsets, from its type's member descriptors (one framer type a lane) */
static int bind_framer(Lane *self, PyObject *framer)
{
    PyTypeObject *type = Py_TYPE(framer);
    if (self->framer_type != NULL) {
        if (type == self->framer_type) {
            return 0;
        }
        PyErr_SetString(PyExc_TypeError, "a Lane reads framers of one type");
        return -1;
    }
    for (int i = 0; i < N_FRAMER_SLOTS; i++) {
        PyObject *descr = PyObject_GetAttrString((PyObject *)type, framer_slot_names[i]);
        if (descr == NULL) {
            return -1;
        }
        int member = Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
                     ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX;
        if (member) {
            self->framer_slot[i] = ((PyMemberDescrObject *)descr)->d_member->offset;
        }
        Py_DECREF(descr);
        if (!member) {
            PyErr_Format(PyExc_TypeError, "the framer needs a slot %s", framer_slot_names[i]);
            return -1;
        }
    }
    Py_INCREF(type);
    self->framer_type = type;
    return 0;
}

static PyObject *lane_key(PyObject *info, int side)
{
    return PyLong_FromUnsignedLongLong((unsigned long long)(uintptr_t)info * 2 + (unsigned)side);
}

/* The place of a side in sides, -1 when it was not added (or on error, with an exception) */
static Py_ssize_t lane_find(Lane *self, PyObject *info, int side)
{
    Py_ssize_t last = self->last;
    if (last < self->count && self->sides[last].info == info && self->sides[last].side == side) {
        return last;
    }
    PyObject *key = lane_key(info, side);
    PyObject *place = key == NULL ? NULL : PyDict_GetItemWithError(self->where, key);
    Py_XDECREF(key);
    if (place == NULL) {
        return -1;
    }
    self->last = PyLong_AsSsize_t(place);
    return self->last;
}

/* add(info, side, link_side, hosts, framer, offsets): read this link side's chunks */
static PyObject *Lane_add(Lane *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "add(info, side, link_side, hosts, framer, offsets)");
        return NULL;
    }
    int side = (int)PyLong_AsLong(args[1]);
    if (side == -1 && PyErr_Occurred()) {
        return NULL;
    }
    PyObject *hosts = args[3], *offsets = args[5];
    if (side < 0 || side > 1 || !PyTuple_Check(hosts) || PyTuple_GET_SIZE(hosts) != 2 ||
        !PyList_Check(offsets) || PyList_GET_SIZE(offsets) != 2) {
        PyErr_SetString(PyExc_TypeError, "add wants side 0 or 1, hosts as a 2-tuple and offsets "
                                         "as a list of two");
        return NULL;
    }
    Py_hash_t hash = hosts_hash(hosts);
    if (hash == -1 || bind_framer(self, args[4]) < 0) {
        return NULL;
    }
    Py_ssize_t at = lane_find(self, args[0], side);
    if (at < 0) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        if (self->count == self->capacity) {
            Py_ssize_t capacity = self->capacity ? 2 * self->capacity : 8;
            LaneSide *sides = PyMem_Realloc(self->sides, (size_t)capacity * sizeof(LaneSide));
            if (sides == NULL) {
                PyErr_NoMemory();
                return NULL;
            }
            self->sides = sides;
            self->capacity = capacity;
        }
        PyObject *key = lane_key(args[0], side);
        PyObject *place = key == NULL ? NULL : PyLong_FromSsize_t(self->count);
        int failed = place == NULL || PyDict_SetItem(self->where, key, place) < 0;
        Py_XDECREF(key);
        Py_XDECREF(place);
        if (failed) {
            return NULL;
        }
        at = self->count++;
        memset(&self->sides[at], 0, sizeof(LaneSide));
    }
    LaneSide *entry = &self->sides[at];
    lane_side_clear(entry);
    PyObject *keep[5] = {args[0], args[2], hosts, args[4], offsets};
    for (int i = 0; i < 5; i++) {
        Py_INCREF(keep[i]);
    }
    entry->info = keep[0];
    entry->linkside = keep[1];
    entry->hosts = keep[2];
    entry->framer = keep[3];
    entry->offsets = keep[4];
    entry->hash = hash;
    entry->side = side;
    Py_RETURN_NONE;
}

/* forget(info): no more chunks of this link's sides */
static PyObject *Lane_forget(Lane *self, PyObject *info)
{
    for (int side = 0; side < 2; side++) {
        Py_ssize_t at = lane_find(self, info, side);
        if (at < 0) {
            if (PyErr_Occurred()) {
                return NULL;
            }
            continue;
        }
        /* the last side takes its place */
        PyObject *key = lane_key(info, side);
        Py_ssize_t last = self->count - 1;
        PyObject *moved_key = key == NULL ? NULL
                                          : lane_key(self->sides[last].info, self->sides[last].side);
        PyObject *place = moved_key == NULL ? NULL : PyLong_FromSsize_t(at);
        int failed = place == NULL || PyDict_DelItem(self->where, key) < 0 ||
                     (at != last && PyDict_SetItem(self->where, moved_key, place) < 0);
        Py_XDECREF(key);
        Py_XDECREF(moved_key);
        Py_XDECREF(place);
        if (failed) {
            return NULL;
        }
        lane_side_clear(&self->sides[at]);
        self->sides[at] = self->sides[last];
        self->count = last;
        self->last = 0;
    }
    Py_RETURN_NONE;
}

/* The framer's stream offset and Size reading when a chunk of whole frames can be cut
 * straight from its bytes (SmartLprFramer.whole_place): 1, else 0 */
static int whole_place(Lane *self, PyObject *framer, long long *base, long long *extra)
{
    PyObject *preferred = framer_slot(self, framer, F_PREFERRED);
    PyObject *buf = framer_slot(self, framer, F_BUF);
    PyObject *base_obj = framer_slot(self, framer, F_BASE);
    if (preferred == NULL || !PyLong_CheckExact(preferred) || buf == NULL ||
        !PyByteArray_CheckExact(buf) || PyByteArray_GET_SIZE(buf) != 0 ||
        framer_slot(self, framer, F_HEADER_RUNS) != Py_True || base_obj == NULL ||
        !PyLong_CheckExact(base_obj)) {
        return 0;
    }
    *extra = as_long_long(preferred);
    *base = as_long_long(base_obj);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

/* The stream of entry moved from `from` to `to`: its framer's _base and its offsets */
static int moved(Lane *self, LaneSide *entry, long long from, long long to)
{
    if (to == from) {
        return 0;
    }
    PyObject *base = PyLong_FromLongLong(to);
    if (base == NULL) {
        return -1;
    }
    PyObject **at = (PyObject **)((char *)entry->framer + self->framer_slot[F_BASE]);
    Py_XSETREF(*at, base);
    PyObject *old = PyList_GET_ITEM(entry->offsets, entry->side);
    long long offset = as_long_long(old);
    PyObject *value = offset == -1 && PyErr_Occurred() ? NULL
                                                       : PyLong_FromLongLong(offset + to - from);
    if (value == NULL) {
        return -1;
    }
    PyList_SET_ITEM(entry->offsets, entry->side, value);
    Py_DECREF(old);
    return 0;
}

/* read(runs, run, piece, number, now_ns, stop_ns, limit, out)
 *   -> (run, piece, number, now_ns, chunks, size) */
static PyObject *Lane_read(Lane *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError,
                        "read(runs, run, piece, number, now_ns, stop_ns, limit, out)");
        return NULL;
    }
    PyObject *runs = args[0], *out = args[7];
    Py_ssize_t r = PyLong_AsSsize_t(args[1]), p = PyLong_AsSsize_t(args[2]);
    long long number = as_long_long(args[3]);
    long long now_ns = as_long_long(args[4]);
    Py_ssize_t limit = PyLong_AsSsize_t(args[6]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    long long stop_ns = as_long_long(args[5]);
    if (stop_ns == -1 && PyErr_Occurred()) {
        PyErr_Clear(); /* a stop beyond 64 bits is none */
        stop_ns = LLONG_MAX;
    }
    if (!(PyList_Check(runs) || PyTuple_Check(runs)) || !PyList_Check(out) || r < 0 || p < 0) {
        PyErr_SetString(PyExc_TypeError, "read wants runs as a sequence and a list out");
        return NULL;
    }
    Pairing *pairing = self->pairing;
    long long chunks = 0, size = 0, latest = 0;
    int seen = 0, stop = 0;
    Py_INCREF(runs);
    while (!stop && r < PySequence_Fast_GET_SIZE(runs)) {
        PyObject *run = PySequence_Fast_GET_ITEM(runs, r);
        if (!PyTuple_Check(run) || PyTuple_GET_SIZE(run) != 3) {
            break;
        }
        PyObject *pieces = PyTuple_GET_ITEM(run, 2);
        long side = PyLong_Check(PyTuple_GET_ITEM(run, 1))
                        ? PyLong_AsLong(PyTuple_GET_ITEM(run, 1)) : -1;
        if (side == -1 && PyErr_Occurred()) {
            PyErr_Clear();
        }
        Py_ssize_t at = side == 0 || side == 1
                            ? lane_find(self, PyTuple_GET_ITEM(run, 0), (int)side) : -1;
        if (at < 0 && PyErr_Occurred()) {
            Py_DECREF(runs);
            return NULL;
        }
        if (at < 0 || !(PyList_Check(pieces) || PyTuple_Check(pieces))) {
            break;
        }
        LaneSide entry = self->sides[at]; /* a copy: rest() may add or forget sides */
        Py_INCREF(entry.framer);
        Py_INCREF(entry.offsets);
        Py_INCREF(entry.linkside);
        Py_INCREF(entry.hosts);
        Py_INCREF(pieces);
        long long base = 0, extra = 0, from;
        int error = 0;
        int whole = whole_place(self, entry.framer, &base, &extra);
        from = base;
        while (!stop && p < PySequence_Fast_GET_SIZE(pieces)) {
            PyObject *piece = PySequence_Fast_GET_ITEM(pieces, p);
            PyObject *data, *time_ns, *partial = NULL;
            int owned;
            Py_INCREF(piece);
            if (!piece_parts(piece, &data, &time_ns, &owned)) {
                Py_DECREF(piece);
                error = 1;
                break;
            }
            /* a time that is no int of 64 bits is for the usual path to say what it is */
            long long when = PyLong_CheckExact(time_ns) ? as_long_long(time_ns) : 0;
            int done = 0, rested = 0;
            int timed = PyLong_CheckExact(time_ns) && !(when == -1 && PyErr_Occurred());
            Taken taken = {0, number, 0};
            if (!timed) {
                PyErr_Clear();
            } else if (whole) {
                long long cut[3] = {extra, self->max_frame, self->max_code};
                done = take_piece(pairing, entry.linkside, data, time_ns, base, cut, entry.hosts,
                                  entry.hash, out, self->rows, &taken, &partial);
            }
            if (done == 1) {
                if (taken.number > number && (!seen || taken.latest > latest)) {
                    latest = taken.latest;
                    seen = 1;
                }
                number = taken.number;
                Py_ssize_t length = PyBytes_GET_SIZE(data);
                base += length;
                size += length;
                chunks += 1;
                if (when > now_ns) {
                    now_ns = when;
                }
                p += 1;
                if (partial != NULL) {
                    rested = 1;
                    /* the framer moves first: rest() is the usual Python */
                    error = moved(self, &entry, from, base) < 0;
                    from = base;
                    PyObject *result = error ? NULL : PyObject_CallFunction(
                        self->rest, "OOOOOOOLO", entry.linkside, entry.hosts, data, time_ns,
                        PyTuple_GET_ITEM(partial, 0), PyTuple_GET_ITEM(partial, 1),
                        PyTuple_GET_ITEM(partial, 2), number, out);
                    number = result == NULL ? 0 : as_long_long(result);
                    error = result == NULL || (number == -1 && PyErr_Occurred());
                    Py_XDECREF(result);
                    Py_DECREF(partial);
                }
                if (now_ns >= stop_ns || PyList_GET_SIZE(out) >= limit) {
                    stop = 1;
                }
            } else if (done == 0 && timed) {
                /* not a run of whole frames on an empty framer: the pipeline's usual way */
                rested = 1;
                error = moved(self, &entry, from, base) < 0;
                from = base;
                Py_ssize_t length = error ? -1 : PyObject_Size(data);
                PyObject *result = length < 0 ? NULL : PyObject_CallFunction(
                    self->spill, "OiOOLO", PyTuple_GET_ITEM(run, 0), entry.side, data, time_ns,
                    number, out);
                number = result == NULL ? 0 : as_long_long(result);
                error = result == NULL || (number == -1 && PyErr_Occurred());
                Py_XDECREF(result);
                size += length;
                chunks += 1;
                if (when > now_ns) {
                    now_ns = when;
                }
                p += 1;
                if (now_ns >= stop_ns || PyList_GET_SIZE(out) >= limit) {
                    stop = 1;
                }
            } else {
                error = done < 0;
                stop = 1;
            }
            if (owned) {
                Py_DECREF(data);
                Py_DECREF(time_ns);
            }
            Py_DECREF(piece);
            if (error) {
                break;
            }
            if (rested && !stop) {
                /* rest() or spill() ran Python: where the framer is now */
                whole = whole_place(self, entry.framer, &base, &extra);
                from = base;
            }
        }
        if (!error && moved(self, &entry, from, base) < 0) {
            error = 1;
        }
        int run_done = p >= PySequence_Fast_GET_SIZE(pieces);
        Py_DECREF(pieces);
        Py_DECREF(entry.framer);
        Py_DECREF(entry.offsets);
        Py_DECREF(entry.linkside);
        Py_DECREF(entry.hosts);
        if (error) {
            Py_DECREF(runs);
            return NULL;
        }
        if (run_done) {
            r += 1;
            p = 0;
        }
    }
    Py_DECREF(runs);
    if (seen) {
        PyObject *result = PyObject_CallFunction(self->saw, "L", latest);
        if (result == NULL) {
            return NULL;
        }
        Py_DECREF(result);
    }
    return Py_BuildValue("(nnLLLL)", r, p, number, now_ns, chunks, size);
}

static int Lane_traverse(Lane *self, visitproc visit, void *arg)
{
    Py_VISIT(self->pairing);
    Py_VISIT(self->rest);
    Py_VISIT(self->saw);
    Py_VISIT(self->spill);
    Py_VISIT(self->framer_type);
    Py_VISIT(self->where);
    for (Py_ssize_t i = 0; i < self->count; i++) {
        Py_VISIT(self->sides[i].info);
        Py_VISIT(self->sides[i].linkside);
        Py_VISIT(self->sides[i].hosts);
        Py_VISIT(self->sides[i].framer);
        Py_VISIT(self->sides[i].offsets);
    }
    return 0;
}

static int Lane_clear(Lane *self)
{
    Py_CLEAR(self->pairing);
    Py_CLEAR(self->rest);
    Py_CLEAR(self->saw);
    Py_CLEAR(self->spill);
    Py_CLEAR(self->framer_type);
    Py_CLEAR(self->where);
    for (Py_ssize_t i = 0; i < self->count; i++) {
        lane_side_clear(&self->sides[i]);
    }
    self->count = 0;
    return 0;
}

static void Lane_dealloc(Lane *self)
{
    PyObject_GC_UnTrack(self);
    Lane_clear(self);
    PyMem_Free(self->sides);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* every method of a Lane that __init__ did not set up (or the GC cleared) refuses */
static PyObject *Lane_read_guarded(Lane *self, PyObject *const *args, Py_ssize_t nargs)
{
    return self->where == NULL ? not_ready() : Lane_read(self, args, nargs);
}

static PyObject *Lane_add_guarded(Lane *self, PyObject *const *args, Py_ssize_t nargs)
{
    return self->where == NULL ? not_ready() : Lane_add(self, args, nargs);
}

static PyObject *Lane_forget_guarded(Lane *self, PyObject *info)
{
    return self->where == NULL ? not_ready() : Lane_forget(self, info);
}

static PyMethodDef Lane_methods[] = {
    {"add", (PyCFunction)(void (*)(void))Lane_add_guarded, METH_FASTCALL, NULL},
    {"forget", (PyCFunction)Lane_forget_guarded, METH_O, NULL},
    {"read", (PyCFunction)(void (*)(void))Lane_read_guarded, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject LaneType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "dissectors._smartlpr_pairing.Lane",
    .tp_basicsize = sizeof(Lane),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Runs of chunks of whole SmartLPR frames, across link sides (see "
              "dissectors.smartlpr.runs.WholeLanePython).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Lane_init,
    .tp_traverse = (traverseproc)Lane_traverse,
    .tp_clear = (inquiry)Lane_clear,
    .tp_dealloc = (destructor)Lane_dealloc,
    .tp_methods = Lane_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_smartlpr_pairing",
    "The common case of SmartLPR pairing in C (see dissectors/smartlpr/pairing.py).", -1, NULL,
};

PyMODINIT_FUNC PyInit__smartlpr_pairing(void)
{
    str_number = PyUnicode_InternFromString("number");
    str_request_in = PyUnicode_InternFromString("request_in");
    str_response_in = PyUnicode_InternFromString("response_in");
    str_latency_ns = PyUnicode_InternFromString("latency_ns");
    str_data = PyUnicode_InternFromString("data");
    str_time_ns = PyUnicode_InternFromString("time_ns");
    if (!str_number || !str_request_in || !str_response_in || !str_latency_ns || !str_data ||
        !str_time_ns) {
        return NULL;
    }
    if (PyType_Ready(&PairingType) < 0 || PyType_Ready(&AgeTableType) < 0 ||
        PyType_Ready(&LaneType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddType(m, &PairingType) < 0 || PyModule_AddType(m, &AgeTableType) < 0 ||
        PyModule_AddType(m, &LaneType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
