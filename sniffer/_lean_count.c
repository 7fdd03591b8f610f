/* Counting settled LeanRecords for `camshark stats` in C; sniffer/stats.py has the Python
 * twin (LeanCounterPython: the fallback without a compiler and the test oracle).
 *
 * LeanCounter(sides, types, problems, unanswered, unanswered_codes, waiting, latencies,
 *             lean_type, link_stats_type, sample_type, latency_samples, error, warning)
 * works for a Stats' own tables. count(items, index, last_ns) -> (index, last_ns) counts the
 * LeanRecords from items[index] on exactly as Stats._count_row would, and stops, before
 * changing anything for it, at the first item that is not a LeanRecord or needs something
 * new (a side, a latency sample or a problem code not seen yet, a number beyond 64 bits):
 * Stats offers a Record again as its LeanRecord, or syncs and counts the row in Python.
 *
 * What the rows change (their links' counts, the type, problem and unanswered counts, the
 * latency samples, the requests waiting for their reply) is kept here in C integers and
 * written into the Stats' objects by sync(): before Python counts a row, when a table here is
 * full, and whenever Stats is read. The tables are keyed by object identity (a row's side, its
 * key tuple, (code, severity), ...), so a row costs a few pointer compares; objects equal but
 * not identical get entries of their own, which sync adds up.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <structmember.h>

#include "../dissectors/py_ints.h"

enum { R_NUMBER, R_SIDE, R_TIME, R_LENGTH, R_KEY, R_PROBLEMS, R_RESPONSE_IN, R_LATENCY, N_ROW };
static const char *row_names[N_ROW] = {"number", "side", "time_ns", "length", "key",
                                       "problems", "response_in", "latency_ns"};
enum { L_LAST, L_TO, L_FROM, L_BYTES_TO, L_BYTES_FROM, L_ERRORS, L_WARNINGS, L_LATENCIES, N_LINK };
static const char *link_names[N_LINK] = {"last_ns", "to_device", "from_device",
                                         "bytes_to_device", "bytes_from_device", "errors",
                                         "warnings", "latencies"};
enum { S_VALUES, S_COUNT, S_LOW, S_HIGH, S_STRIDE, N_SAMPLE };
static const char *sample_names[N_SAMPLE] = {"values", "count", "low", "high", "stride"};

/* -- identity tables: (a, b) object pair -> long long, insertion-ordered ------------------- */

#define TABLE_LIMIT 1024 /* entries before a sync empties the tables: bounds the memory */
#define TABLE_SLOTS 2048 /* a power of two, at least twice TABLE_LIMIT */
#define ROW_PROBLEMS 4   /* a row with more problems is counted by Python */
#define ROW_ADDED (6 + 2 * ROW_PROBLEMS) /* the most entries one row adds to the tables */

typedef struct {
    PyObject *a, *b; /* strong references (b may be NULL) */
    long long value;
    size_t slot; /* where slots holds it */
} Entry;

typedef struct {
    int32_t slots[TABLE_SLOTS]; /* 0 free, else entry index + 1 */
    Entry entries[TABLE_LIMIT];
    int used;
} Table;

static inline size_t slot_of(PyObject *a, PyObject *b)
{
    uint64_t mixed = ((uintptr_t)a >> 4) * 0x9E3779B97F4A7C15ull ^ ((uintptr_t)b >> 4);
    return (size_t)((mixed * 0xD6E8FEB86659FD93ull) >> 40) & (TABLE_SLOTS - 1);
}

/* the index of (a, b)'s entry, or -1 */
static inline int table_find(const Table *table, PyObject *a, PyObject *b)
{
    for (size_t slot = slot_of(a, b);; slot = (slot + 1) & (TABLE_SLOTS - 1)) {
        int32_t at = table->slots[slot];
        if (at == 0) {
            return -1;
        }
        const Entry *entry = &table->entries[at - 1];
        if (entry->a == a && entry->b == b) {
            return at - 1;
        }
    }
}

/* a new entry for (a, b), not in the table yet; the caller left room (tables_full) */
static int table_add(Table *table, int *added, PyObject *a, PyObject *b, long long value)
{
    size_t slot = slot_of(a, b);
    while (table->slots[slot] != 0) {
        slot = (slot + 1) & (TABLE_SLOTS - 1);
    }
    int index = table->used++;
    *added += 1;
    Py_INCREF(a);
    Py_XINCREF(b);
    table->entries[index] = (Entry){a, b, value, slot};
    table->slots[slot] = index + 1;
    return index;
}

static void table_clear(Table *table)
{
    if (table->used == 0) {
        return;
    }
    int used = table->used;
    table->used = 0;
    for (int i = 0; i < used; i++) {
        table->slots[table->entries[i].slot] = 0;
        Py_DECREF(table->entries[i].a);
        Py_XDECREF(table->entries[i].b);
    }
}

/* -- the requests waiting for their reply: response number -> request type -------------- */

typedef struct {
    long long number;
    PyObject *type; /* strong */
    size_t slot;
} Waiting;

typedef struct {
    int32_t slots[TABLE_SLOTS]; /* 0 free, -1 freed (a probe goes on), else entry index + 1 */
    Waiting entries[TABLE_LIMIT];
    int used, freed;
} WaitTable;

static inline size_t number_slot(long long number)
{
    return (size_t)(((uint64_t)number * 0x9E3779B97F4A7C15ull) >> 40) & (TABLE_SLOTS - 1);
}

static int wait_find(const WaitTable *table, long long number)
{
    for (size_t slot = number_slot(number);; slot = (slot + 1) & (TABLE_SLOTS - 1)) {
        int32_t at = table->slots[slot];
        if (at == 0) {
            return -1;
        }
        if (at > 0 && table->entries[at - 1].number == number) {
            return at - 1;
        }
    }
}

static void wait_place(WaitTable *table, int index)
{
    size_t slot = number_slot(table->entries[index].number);
    while (table->slots[slot] > 0) {
        slot = (slot + 1) & (TABLE_SLOTS - 1);
    }
    table->freed -= table->slots[slot] < 0;
    table->slots[slot] = index + 1;
    table->entries[index].slot = slot;
}

/* number's request type becomes type; the caller left room (tables_full) */
static void wait_set(WaitTable *table, long long number, PyObject *type)
{
    Py_INCREF(type);
    int index = wait_find(table, number);
    if (index >= 0) {
        Py_SETREF(table->entries[index].type, type);
        return;
    }
    if (table->used + table->freed >= TABLE_LIMIT) { /* too many freed slots: probes grow */
        memset(table->slots, 0, sizeof table->slots);
        table->freed = 0;
        for (int i = 0; i < table->used; i++) {
            wait_place(table, i);
        }
    }
    index = table->used++;
    table->entries[index] = (Waiting){number, type, 0};
    wait_place(table, index);
}

/* the request type of entry index, removed (the reference is the caller's) */
static PyObject *wait_take(WaitTable *table, int index)
{
    PyObject *type = table->entries[index].type;
    table->slots[table->entries[index].slot] = -1;
    table->freed += 1;
    int last = --table->used;
    if (index != last) {
        table->entries[index] = table->entries[last];
        table->slots[table->entries[index].slot] = index + 1;
    }
    return type;
}

static void wait_clear(WaitTable *table)
{
    if (table->used == 0 && table->freed == 0) {
        return;
    }
    while (table->used > 0) {
        Py_DECREF(wait_take(table, table->used - 1));
    }
    memset(table->slots, 0, sizeof table->slots);
    table->freed = 0;
}

/* side -> link index * 2 + to_device; LinkStats -> 0 (its counts: link_counts at the same
 * index); key tuple -> rows counted; (code, severity) -> problems counted; (protocol, type)
 * -> unanswered counted; (protocol, request type) -> sample index; LatencySample -> 0 (its
 * state: sample_counts at the same index) */
enum { T_SIDE, T_LINK, T_TYPE, T_PROBLEM, T_UNANSWERED, T_ROUTE, T_SAMPLE, N_TABLE };

/* -- what is counted here until the next sync ---------------------------------------------- */

typedef struct {
    long long to_device, from_device, bytes_to_device, bytes_from_device, errors, warnings;
    PyObject *last_ns; /* the latest row's time_ns, strong; NULL before the first */
    int sample;        /* its LatencySample's index in samples, -1 until needed */
} LinkCounts;

typedef struct {
    long long count, low, high, stride; /* the LatencySample's slots, loaded at first use */
    PyObject *values;                   /* its list, strong */
} SampleCounts;

typedef struct {
    PyObject_HEAD
    PyObject *sides, *types, *problems, *unanswered, *unanswered_codes, *waiting, *latencies;
    PyTypeObject *lean_type, *link_type, *sample_type;
    PyObject *error, *warning;
    Py_ssize_t latency_samples;
    Py_ssize_t row[N_ROW], link[N_LINK], sample[N_SAMPLE];
    Table *tables[N_TABLE];
    int added; /* entries added to tables since the last sync: no table has more */
    int syncing;
    WaitTable *waits; /* the requests waiting since the last sync (the rest: waiting) */
    LinkCounts *link_counts;
    SampleCounts *sample_counts;
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

static PyObject *one, *every_other;

/* counter[key] += delta on a dict (a Counter's missing keys count from 0); delta > 0 */
static int bump(PyObject *counter, PyObject *key, long long delta)
{
    PyObject *add = delta == 1 ? Py_NewRef(one) : PyLong_FromLongLong(delta);
    if (add == NULL) {
        return -1;
    }
    PyObject *value = PyDict_GetItemWithError(counter, key);
    if (value == NULL) {
        int failed = PyErr_Occurred() || PyDict_SetItem(counter, key, add) < 0;
        Py_DECREF(add);
        return failed ? -1 : 0;
    }
    PyObject *sum = PyNumber_Add(value, add);
    Py_DECREF(add);
    if (sum == NULL) {
        return -1;
    }
    int failed = PyDict_SetItem(counter, key, sum);
    Py_DECREF(sum);
    return failed;
}

/* obj.<slot> += delta for an int slot */
static int add_to_slot(PyObject *obj, Py_ssize_t offset, long long delta)
{
    if (delta == 0) {
        return 0;
    }
    PyObject *value = get_slot(obj, offset);
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "a counter slot is unset");
        return -1;
    }
    PyObject *add = PyLong_FromLongLong(delta);
    if (add == NULL) {
        return -1;
    }
    PyObject *sum = PyNumber_Add(value, add);
    Py_DECREF(add);
    if (sum == NULL) {
        return -1;
    }
    put_slot(obj, offset, sum);
    return 0;
}

static int put_int_slot(PyObject *obj, Py_ssize_t offset, long long value)
{
    PyObject *number = PyLong_FromLongLong(value);
    if (number == NULL) {
        return -1;
    }
    put_slot(obj, offset, number);
    return 0;
}

/* counter[(a, b)] += value for each entry of table */
static int bump_pairs(PyObject *counter, Table *table)
{
    for (int i = 0; i < table->used; i++) {
        Entry *entry = &table->entries[i];
        if (entry->value == 0) {
            continue;
        }
        PyObject *key = PyTuple_Pack(2, entry->a, entry->b);
        int failed = key == NULL || bump(counter, key, entry->value) < 0;
        Py_XDECREF(key);
        if (failed) {
            return -1;
        }
    }
    return 0;
}

/* the entry of (a, b) in table, made (value 0) if new; the caller left room (tables_full) */
static inline Entry *table_entry(LeanCounter *self, int which, PyObject *a, PyObject *b)
{
    Table *table = self->tables[which];
    int index = table_find(table, a, b);
    if (index < 0) {
        index = table_add(table, &self->added, a, b, 0);
    }
    return &table->entries[index];
}

/* empties the tables, dropping what was counted since the last sync */
static void forget_counts(LeanCounter *self)
{
    for (int i = 0; self->tables[T_LINK] != NULL && i < self->tables[T_LINK]->used; i++) {
        Py_CLEAR(self->link_counts[i].last_ns);
    }
    for (int i = 0; self->tables[T_SAMPLE] != NULL && i < self->tables[T_SAMPLE]->used; i++) {
        Py_CLEAR(self->sample_counts[i].values);
    }
    for (int i = 0; i < N_TABLE; i++) {
        if (self->tables[i] != NULL) {
            table_clear(self->tables[i]);
        }
    }
    if (self->waits != NULL) {
        wait_clear(self->waits);
    }
    self->added = 0;
}

/* -- sync: everything counted here into the Stats' objects, then the tables emptied -------- */

static int counter_sync(LeanCounter *self)
{
    if (self->syncing) {
        return 0; /* a key's __hash__ read the Stats: the outer sync writes everything */
    }
    self->syncing = 1;
    int failed = 0;
    Py_ssize_t *link_at = self->link, *sample_at = self->sample;
    for (int i = 0; i < self->tables[T_LINK]->used; i++) {
        PyObject *stats = self->tables[T_LINK]->entries[i].a;
        LinkCounts *counts = &self->link_counts[i];
        if (counts->last_ns != NULL) {
            put_slot(stats, link_at[L_LAST], counts->last_ns); /* the reference moves */
            counts->last_ns = NULL;
        }
        failed = failed || add_to_slot(stats, link_at[L_TO], counts->to_device) < 0;
        failed = failed || add_to_slot(stats, link_at[L_FROM], counts->from_device) < 0;
        failed = failed || add_to_slot(stats, link_at[L_BYTES_TO], counts->bytes_to_device) < 0;
        failed = failed || add_to_slot(stats, link_at[L_BYTES_FROM], counts->bytes_from_device) < 0;
        failed = failed || add_to_slot(stats, link_at[L_ERRORS], counts->errors) < 0;
        failed = failed || add_to_slot(stats, link_at[L_WARNINGS], counts->warnings) < 0;
    }
    for (int i = 0; i < self->tables[T_TYPE]->used; i++) {
        Entry *entry = &self->tables[T_TYPE]->entries[i];
        failed = failed || (entry->value && bump(self->types, entry->a, entry->value) < 0);
    }
    failed = failed || bump_pairs(self->problems, self->tables[T_PROBLEM]) < 0;
    failed = failed || bump_pairs(self->unanswered, self->tables[T_UNANSWERED]) < 0;
    for (int i = 0; i < self->waits->used && !failed; i++) {
        PyObject *number = PyLong_FromLongLong(self->waits->entries[i].number);
        failed = number == NULL ||
                 PyDict_SetItem(self->waiting, number, self->waits->entries[i].type) < 0;
        Py_XDECREF(number);
    }
    for (int i = 0; i < self->tables[T_SAMPLE]->used; i++) {
        PyObject *sample = self->tables[T_SAMPLE]->entries[i].a;
        SampleCounts *counts = &self->sample_counts[i];
        failed = failed || put_int_slot(sample, sample_at[S_COUNT], counts->count) < 0;
        failed = failed || put_int_slot(sample, sample_at[S_LOW], counts->low) < 0;
        failed = failed || put_int_slot(sample, sample_at[S_HIGH], counts->high) < 0;
        failed = failed || put_int_slot(sample, sample_at[S_STRIDE], counts->stride) < 0;
    }
    forget_counts(self);
    self->syncing = 0;
    return failed ? -1 : 0;
}

static inline int tables_full(LeanCounter *self)
{
    return self->added > TABLE_LIMIT - ROW_ADDED || self->waits->used > TABLE_LIMIT - 1;
}

/* -- lookups that may stop a row (nothing counted yet) -------------------------------------- */

/* the index in link_counts of side's LinkStats (to_device set), -1 to stop, -2 on error */
static int link_of(LeanCounter *self, PyObject *side, int *to_device)
{
    int entry = table_find(self->tables[T_SIDE], side, NULL);
    if (entry >= 0) {
        long long value = self->tables[T_SIDE]->entries[entry].value;
        *to_device = (int)(value & 1);
        return (int)(value >> 1);
    }
    PyObject *counts = PyDict_GetItemWithError(self->sides, side);
    if (counts == NULL) {
        return PyErr_Occurred() ? -2 : -1; /* a side not seen yet */
    }
    if (!PyTuple_Check(counts) || PyTuple_GET_SIZE(counts) != 2 ||
        Py_TYPE(PyTuple_GET_ITEM(counts, 0)) != self->link_type) {
        return -1;
    }
    PyObject *stats = PyTuple_GET_ITEM(counts, 0);
    int link = table_find(self->tables[T_LINK], stats, NULL);
    if (link < 0) {
        link = table_add(self->tables[T_LINK], &self->added, stats, NULL, 0);
        self->link_counts[link] = (LinkCounts){0, 0, 0, 0, 0, 0, NULL, -1};
    }
    *to_device = PyTuple_GET_ITEM(counts, 1) == Py_True;
    table_add(self->tables[T_SIDE], &self->added, side, NULL, (long long)link * 2 + *to_device);
    return link;
}

static int read_int(PyObject *number, long long *value)
{
    int64_t small;
    if (PyLong_CheckExact(number) && small_int64(number, &small)) {
        *value = (long long)small;
        return 0;
    }
    int overflow = 0;
    *value = PyLong_AsLongLongAndOverflow(number, &overflow);
    if (overflow || (*value == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return -1;
    }
    return 0;
}

/* the index in sample_counts of a LatencySample, its slots loaded at first use; -1 to stop */
static int sample_of(LeanCounter *self, PyObject *sample)
{
    if (sample == NULL || Py_TYPE(sample) != self->sample_type) {
        return -1;
    }
    int index = table_find(self->tables[T_SAMPLE], sample, NULL);
    if (index >= 0) {
        return index;
    }
    Py_ssize_t *at = self->sample;
    PyObject *count = get_slot(sample, at[S_COUNT]), *low = get_slot(sample, at[S_LOW]);
    PyObject *high = get_slot(sample, at[S_HIGH]), *stride = get_slot(sample, at[S_STRIDE]);
    PyObject *values = get_slot(sample, at[S_VALUES]);
    SampleCounts counts = {0, 0, 0, 0, values};
    if (!count || !low || !high || !stride || !values || !PyList_CheckExact(values) ||
        read_int(count, &counts.count) < 0 || read_int(low, &counts.low) < 0 ||
        read_int(high, &counts.high) < 0 || read_int(stride, &counts.stride) < 0 ||
        counts.count < 0 || counts.stride <= 0) {
        return -1; /* Python says what is wrong with it */
    }
    index = table_add(self->tables[T_SAMPLE], &self->added, sample, NULL, 0);
    Py_INCREF(values);
    self->sample_counts[index] = counts;
    return index;
}

/* LatencySample.add */
static int sample_add(LeanCounter *self, SampleCounts *sample, PyObject *latency, long long value)
{
    long long count = sample->count++;
    if (!count || value < sample->low) {
        sample->low = value;
    }
    if (value > sample->high) {
        sample->high = value;
    }
    if (count % sample->stride) {
        return 0;
    }
    PyObject *values = sample->values;
    if (PyList_Append(values, latency) < 0) {
        return -1;
    }
    if (PyList_GET_SIZE(values) > self->latency_samples) {
        if (PyObject_DelItem(values, every_other) < 0) {
            return -1;
        }
        sample->stride *= 2;
    }
    return 0;
}

/* -- count ---------------------------------------------------------------------------------- */

static PyObject *LeanCounter_count(LeanCounter *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (self->sides == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "LeanCounter was not initialised");
        return NULL;
    }
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "count(items, index, last_ns)");
        return NULL;
    }
    PyObject *items = args[0];
    Py_ssize_t index = PyLong_AsSsize_t(args[1]);
    if (index == -1 && PyErr_Occurred()) {
        return NULL;
    }
    long long last_ns = 0; /* unreadable, or items not a list or tuple: Python counts them */
    int readable = PyList_Check(items) || PyTuple_Check(items);
    readable = readable && read_int(args[2], &last_ns) == 0;
    PyObject *last_obj = args[2];
    Py_INCREF(last_obj);
    if (index < 0) {
        index = 0;
    }
    Py_ssize_t *row_at = self->row;
    PyObject *last_side = NULL;
    int link = -1, to_device = 0;
    while (readable && index < PySequence_Fast_GET_SIZE(items)) {
        PyObject *row = PySequence_Fast_GET_ITEM(items, index);
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
        if (tables_full(self)) {
            if (counter_sync(self) < 0) {
                goto error;
            }
            last_side = NULL;
        }
        /* -- everything that could stop this row, before anything changes -- */
        if (side != last_side) {
            link = link_of(self, side, &to_device);
            if (link < 0) {
                if (link == -2) {
                    goto error;
                }
                break; /* a side not seen yet */
            }
            last_side = side;
        }
        long long now, size;
        if (read_int(time_ns, &now) < 0 || read_int(length, &size) < 0) {
            break;
        }
        int unanswered[ROW_PROBLEMS]; /* per problem: whether its code is an unanswered one */
        Py_ssize_t n_problems = 0;
        if (problems != Py_None) {
            if (!PyList_Check(problems) || PyList_GET_SIZE(problems) > ROW_PROBLEMS) {
                break;
            }
            n_problems = PyList_GET_SIZE(problems);
            Py_ssize_t known = 0;
            for (; known < n_problems; known++) {
                PyObject *problem = PyList_GET_ITEM(problems, known);
                if (!PyTuple_CheckExact(problem) || PyTuple_GET_SIZE(problem) != 2) {
                    break;
                }
                PyObject *seen = PyDict_GetItemWithError(self->unanswered_codes,
                                                         PyTuple_GET_ITEM(problem, 0));
                if (seen == NULL) {
                    if (PyErr_Occurred()) {
                        goto error;
                    }
                    break; /* a problem code not seen yet */
                }
                unanswered[known] = seen == Py_True;
                if (!unanswered[known] && seen != Py_False) {
                    break;
                }
            }
            if (known < n_problems) {
                break;
            }
        }
        long long answer = 0, own = 0;
        if (response_in != Py_None && read_int(response_in, &answer) < 0) {
            break;
        }
        PyObject *request_type = NULL;
        long long latency_value = 0;
        int waited = -1, type_sample = -1, link_sample = -1;
        if (latency != Py_None) {
            if (read_int(number, &own) < 0) {
                break;
            }
            if (response_in != Py_None && answer == own) {
                break; /* answers itself: the order of the waiting table's steps matters */
            }
            waited = wait_find(self->waits, own);
            if (waited >= 0) {
                request_type = self->waits->entries[waited].type;
            } else if (PyDict_GET_SIZE(self->waiting)) {
                request_type = PyDict_GetItemWithError(self->waiting, number);
                if (request_type == NULL && PyErr_Occurred()) {
                    goto error;
                }
            }
        }
        if (request_type != NULL) {
            if (read_int(latency, &latency_value) < 0) {
                break;
            }
            PyObject *protocol = PyTuple_GET_ITEM(key, 0);
            int route = table_find(self->tables[T_ROUTE], protocol, request_type);
            if (route >= 0) {
                type_sample = (int)self->tables[T_ROUTE]->entries[route].value;
            } else {
                PyObject *latency_key = PyTuple_Pack(2, protocol, request_type);
                if (latency_key == NULL) {
                    goto error;
                }
                PyObject *sample = PyDict_GetItemWithError(self->latencies, latency_key);
                Py_DECREF(latency_key);
                if (sample == NULL && PyErr_Occurred()) {
                    goto error;
                }
                type_sample = sample_of(self, sample);
                if (type_sample < 0) {
                    break; /* a latency sample not made yet */
                }
                table_add(self->tables[T_ROUTE], &self->added, protocol, request_type, type_sample);
            }
            link_sample = self->link_counts[link].sample;
            if (link_sample < 0) {
                PyObject *stats = self->tables[T_LINK]->entries[link].a;
                link_sample = sample_of(self, get_slot(stats, self->link[L_LATENCIES]));
                if (link_sample < 0) {
                    break;
                }
                self->link_counts[link].sample = link_sample;
            }
            Py_INCREF(request_type); /* the pop below drops the dict's reference */
        }
        /* -- count it: Stats._count_row -- */
        LinkCounts *counts = &self->link_counts[link];
        int failed = 0;
        if (now > last_ns) {
            last_ns = now;
            Py_INCREF(time_ns);
            Py_SETREF(last_obj, time_ns);
        }
        Py_INCREF(time_ns);
        Py_XSETREF(counts->last_ns, time_ns);
        if (to_device) {
            counts->to_device += 1;
            counts->bytes_to_device += size;
        } else {
            counts->from_device += 1;
            counts->bytes_from_device += size;
        }
        table_entry(self, T_TYPE, key, NULL)->value += 1;
        for (Py_ssize_t i = 0; i < n_problems; i++) {
            PyObject *problem = PyList_GET_ITEM(problems, i);
            PyObject *code = PyTuple_GET_ITEM(problem, 0), *severity = PyTuple_GET_ITEM(problem, 1);
            table_entry(self, T_PROBLEM, code, severity)->value += 1;
            if (severity == self->error) {
                counts->errors += 1;
            } else if (severity == self->warning) {
                counts->warnings += 1;
            }
            if (unanswered[i]) {
                PyObject *protocol = PyTuple_GET_ITEM(key, 0), *type = PyTuple_GET_ITEM(key, 1);
                table_entry(self, T_UNANSWERED, protocol, type)->value += 1;
            }
        }
        if (request_type != NULL) {
            if (waited >= 0) {
                Py_DECREF(wait_take(self->waits, waited));
            } else {
                failed |= PyDict_DelItem(self->waiting, number) < 0;
            }
        }
        if (!failed && response_in != Py_None) {
            /* Python's entry for it, if any, is older than this one */
            PyObject *older = PyDict_GET_SIZE(self->waiting)
                                  ? PyDict_GetItemWithError(self->waiting, response_in)
                                  : NULL;
            failed |= older == NULL ? PyErr_Occurred() != NULL
                                    : PyDict_DelItem(self->waiting, response_in) < 0;
            wait_set(self->waits, answer, PyTuple_GET_ITEM(key, 1));
        }
        if (!failed && request_type != NULL) {
            failed |= sample_add(self, &self->sample_counts[type_sample], latency,
                                 latency_value) < 0;
            failed |= !failed && sample_add(self, &self->sample_counts[link_sample], latency,
                                            latency_value) < 0;
        }
        Py_XDECREF(request_type);
        if (failed) {
            goto error;
        }
        index += 1;
    }
    PyObject *at = PyLong_FromSsize_t(index);
    if (at == NULL) {
        goto error;
    }
    PyObject *result = PyTuple_New(2);
    if (result == NULL) {
        Py_DECREF(at);
        goto error;
    }
    PyTuple_SET_ITEM(result, 0, at);
    PyTuple_SET_ITEM(result, 1, last_obj);
    return result;
error:
    Py_DECREF(last_obj);
    return NULL;
}

static PyObject *LeanCounter_sync(LeanCounter *self, PyObject *Py_UNUSED(ignored))
{
    if (self->sides != NULL && counter_sync(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
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
    if (self->sides != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "LeanCounter is already initialised");
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
    Table **tables = self->tables;
    for (int i = 0; i < N_TABLE; i++) {
        tables[i] = PyMem_Calloc(1, sizeof(Table));
    }
    self->waits = PyMem_Calloc(1, sizeof(WaitTable));
    self->link_counts = PyMem_Calloc(TABLE_LIMIT, sizeof(LinkCounts));
    self->sample_counts = PyMem_Calloc(TABLE_LIMIT, sizeof(SampleCounts));
    int missing =
        self->waits == NULL || self->link_counts == NULL || self->sample_counts == NULL;
    for (int i = 0; i < N_TABLE; i++) {
        missing |= tables[i] == NULL;
    }
    if (missing) {
        PyErr_NoMemory();
        return -1; /* dealloc frees what was allocated */
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
    Table **tables = self->tables;
    for (int t = 0; t < N_TABLE; t++) {
        for (int i = 0; tables[t] != NULL && i < tables[t]->used; i++) {
            Py_VISIT(tables[t]->entries[i].a);
            Py_VISIT(tables[t]->entries[i].b);
        }
    }
    for (int i = 0; self->tables[T_LINK] != NULL && i < self->tables[T_LINK]->used; i++) {
        Py_VISIT(self->link_counts[i].last_ns);
    }
    for (int i = 0; self->tables[T_SAMPLE] != NULL && i < self->tables[T_SAMPLE]->used; i++) {
        Py_VISIT(self->sample_counts[i].values);
    }
    for (int i = 0; self->waits != NULL && i < self->waits->used; i++) {
        Py_VISIT(self->waits->entries[i].type);
    }
    return 0;
}

static int LeanCounter_clear(LeanCounter *self)
{
    forget_counts(self);
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
    Table **tables = self->tables;
    for (int i = 0; i < N_TABLE; i++) {
        PyMem_Free(tables[i]);
    }
    PyMem_Free(self->waits);
    PyMem_Free(self->link_counts);
    PyMem_Free(self->sample_counts);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef LeanCounter_methods[] = {
    {"count", (PyCFunction)(void (*)(void))LeanCounter_count, METH_FASTCALL, NULL},
    {"sync", (PyCFunction)LeanCounter_sync, METH_NOARGS, NULL},
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
    PyObject *two = PyLong_FromLong(2);
    every_other = one && two ? PySlice_New(one, Py_None, two) : NULL; /* [1::2] */
    Py_XDECREF(two);
    if (every_other == NULL || PyType_Ready(&LeanCounterType) < 0) {
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
