/* The capture source's per-packet hot loop; sniffer/sources/fast_packets.py has the same API
 * in Python (fast_records_python, take_packet), which is the reference for every decision.
 *
 * fast_records(buf, pos, header_size, big_endian, unit, cache, trim)
 *     -> (pos, taken, runs, last_time)
 *     Walks the classic pcap records of buf from buf[pos] (a record header) while each is a
 *     whole Ethernet/IPv4/TCP packet that take_packet would take: a pure ACK that
 *     acknowledges no hole, or the next payload of an established stream (delivered: the
 *     stream's delivered and recent are updated, trim(stream) is called when recent is
 *     full). Stops at the first record it does not take, or that buf does not hold whole.
 *     runs: [(link info, side, [Piece(data, time_ns), ...]), ...] by consecutive link side
 *     (the info and side of the cache entry: entry[4], entry[1]).
 *
 * fast_blocks(buf, pos, big_endian, interfaces, last_time, cache, trim)
 *     -> (pos, taken, runs, last_time)
 *     The same over the blocks of a pcapng section from buf[pos] (a block header): Enhanced
 *     Packet Blocks of an interface with interfaces[i] = (mul, offset_ns), mul > 0 (time =
 *     ticks * mul + offset_ns), and Simple Packet Blocks (interface 0, time last_time) while
 *     interfaces[0] has mul > 0. Stops at any other block (section header, interface
 *     description...), at an interface with mul 0, and at any block the reader would refuse.
 *
 * bind_slots(stream_type, connection_type)
 *     Read and write the attributes of instances of exactly these classes (tcp_reassembly's
 *     Stream and Connection) through their __slots__ offsets; instances of any other class
 *     (a subclass...) go through getattr/setattr by name. Called once by fast_packets.
 *
 * Every length read is checked against buf: any input is safe. Values it does not expect in
 * the Python objects (a sequence base that is not a small int...) make it stop, not guess.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

#define ETH_HEADER 14
#define IPV4_HEADER 20
#define MIN_FRAME 48 /* through the TCP flags byte */
#define ETHERTYPE_IPV4 0x0800
#define PROTO_TCP 6
#define FLAG_ACK 0x10
#define SLOW_FLAGS 0x17 /* SYN | FIN | RST | ACK */
#define MAX_ACK_JUMP (1u << 30)
#define RECENT_LIMIT (32 << 10)
#define RECENT_PIECES 64
#define KEY_SIZE 12
#define BLOCK_SPB 3
#define BLOCK_EPB 6
#define MAX_BLOCK (256u << 20) /* pcap_file.MAX_PACKET */
#define MAX_TIME_OFFSET (1LL << 62)

/* The attributes the walk reads and writes: Connection.slow, the others of Stream. */
enum {
    ATTR_SLOW,
    ATTR_BASE,
    ATTR_DELIVERED,
    ATTR_PENDING,
    ATTR_RECENT,
    ATTR_RECENT_START,
    ATTR_FIN,
    N_ATTRS
};
static const char *attr_names[N_ATTRS] = {"slow",   "base",         "delivered", "pending",
                                          "recent", "recent_start", "fin"};
static PyObject *attr_strs[N_ATTRS];
/* Set by bind_slots: the classes read through their slots, and each attribute's offset. */
static PyTypeObject *connection_type, *stream_type;
static Py_ssize_t attr_offsets[N_ATTRS];

static PyTypeObject *owner_of(int which)
{
    return which == ATTR_SLOW ? connection_type : stream_type;
}

/* obj's attribute, as getattr gives it: a new reference, or NULL with an exception. */
static PyObject *get_attr(PyObject *obj, int which)
{
    if (Py_TYPE(obj) == owner_of(which)) {
        PyObject *value = *(PyObject **)((char *)obj + attr_offsets[which]);
        if (value == NULL) {
            PyErr_SetObject(PyExc_AttributeError, attr_strs[which]);
            return NULL;
        }
        return Py_NewRef(value);
    }
    return PyObject_GetAttr(obj, attr_strs[which]);
}

/* setattr(obj, attribute, value): 0, or -1 with an exception. */
static int set_attr(PyObject *obj, int which, PyObject *value)
{
    if (Py_TYPE(obj) == owner_of(which)) {
        PyObject **at = (PyObject **)((char *)obj + attr_offsets[which]);
        Py_XSETREF(*at, Py_NewRef(value));
        return 0;
    }
    return PyObject_SetAttr(obj, attr_strs[which], value);
}

static PyStructSequence_Field piece_fields[] = {
    {"data", "the payload"}, {"time_ns", "its packet's time"}, {NULL, NULL}};
static PyStructSequence_Desc piece_desc = {
    "sniffer.sources._fast_path.Piece", "One in-order payload and its packet's time.",
    piece_fields, 2};
static PyTypeObject *PieceType;

static uint32_t be16(const unsigned char *p) { return ((uint32_t)p[0] << 8) | p[1]; }

static uint32_t be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* A stream's attribute as a C integer: 1 when it is an int in [0, 2**62), 0 when it is None
 * (if allowed) or anything else (the caller stops). */
static int get_count(PyObject *obj, int which, long long *value, int *is_none)
{
    PyObject *attr = get_attr(obj, which);
    if (attr == NULL) {
        PyErr_Clear();
        return 0;
    }
    int ok = 0;
    if (attr == Py_None && is_none != NULL) {
        *is_none = 1;
        ok = 1;
    }
    else if (PyLong_CheckExact(attr)) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(attr, &overflow);
        if (!overflow && v >= 0 && v < (1LL << 62)) {
            *value = v;
            if (is_none != NULL) {
                *is_none = 0;
            }
            ok = 1;
        }
        else if (v == -1 && PyErr_Occurred()) {
            PyErr_Clear();
        }
    }
    Py_DECREF(attr);
    return ok;
}

/* 1 true, 0 false, -1 unreadable (the caller stops). */
static int get_truth(PyObject *obj, int which)
{
    PyObject *attr = get_attr(obj, which);
    if (attr == NULL) {
        PyErr_Clear();
        return -1;
    }
    int truth = PyObject_IsTrue(attr);
    Py_DECREF(attr);
    if (truth < 0) {
        PyErr_Clear();
    }
    return truth;
}

/* Deliver payload on stream as Reassembler.feed does: delivered += len, remember(stream,
 * payload). Returns 0 on success, -1 on a Python error (propagated). */
static int deliver(PyObject *stream, long long delivered, PyObject *payload, PyObject *trim)
{
    delivered += PyBytes_GET_SIZE(payload);
    PyObject *value = PyLong_FromLongLong(delivered);
    if (value == NULL) {
        return -1;
    }
    int failed = set_attr(stream, ATTR_DELIVERED, value);
    Py_DECREF(value);
    if (failed) {
        return -1;
    }
    PyObject *recent = get_attr(stream, ATTR_RECENT);
    if (recent == NULL) {
        return -1;
    }
    if (!PyList_Check(recent)) {
        Py_DECREF(recent);
        PyErr_SetString(PyExc_TypeError, "stream.recent is not a list");
        return -1;
    }
    failed = PyList_Append(recent, payload);
    Py_ssize_t pieces = PyList_GET_SIZE(recent);
    Py_DECREF(recent);
    if (failed) {
        return -1;
    }
    long long recent_start = 0;
    int full = pieces > RECENT_PIECES;
    if (!full) {
        if (!get_count(stream, ATTR_RECENT_START, &recent_start, NULL)) {
            full = 1; /* let trim_recent make sense of it */
        }
        else {
            full = delivered - recent_start > RECENT_LIMIT;
        }
    }
    if (full) {
        PyObject *result = PyObject_CallOneArg(trim, stream);
        if (result == NULL) {
            return -1;
        }
        Py_DECREF(result);
    }
    return 0;
}

/* Close the current run (pieces) into runs, as (info, side, pieces) of its cache entry. */
static int end_run(PyObject *runs, PyObject **entry, PyObject **pieces)
{
    if (*pieces == NULL) {
        return 0;
    }
    PyObject *run =
        PyTuple_Pack(3, PyTuple_GET_ITEM(*entry, 4), PyTuple_GET_ITEM(*entry, 1), *pieces);
    Py_CLEAR(*pieces);
    Py_CLEAR(*entry);
    if (run == NULL) {
        return -1;
    }
    int failed = PyList_Append(runs, run);
    Py_DECREF(run);
    return failed;
}

/* What one call's walk keeps between packets: the cache, the runs built so far, and the
 * entries of the last two keys looked up (a connection's two directions, as new references:
 * most packets need no dictionary lookup). */
typedef struct {
    PyObject *cache, *trim, *runs;
    PyObject *run_entry; /* new reference: the cache entry of run_pieces */
    PyObject *run_pieces;
    PyObject *memo[2];
    unsigned char memo_key[2][KEY_SIZE];
    int memo_next;
} Walk;

/* Take the Ethernet frame buf[start:end] (within the buffer) as take_packet does: 1 taken
 * (its payload, if any, added to the runs), 0 left to the general path (nothing changed),
 * -1 a Python error. */
static int take_frame(Walk *w, const unsigned char *buf, Py_ssize_t start, Py_ssize_t end,
                      long long time_ns)
{
    if (end - start < MIN_FRAME) {
        return 0;
    }
    const unsigned char *frame = buf + start;
    uint32_t ip_total = be16(frame + 16);
    uint32_t frag = be16(frame + 20);
    uint32_t off = frame[46];
    uint32_t flags = frame[47];
    if (be16(frame + 12) != ETHERTYPE_IPV4 || frame[14] != 0x45 || frame[23] != PROTO_TCP ||
        (frag & 0x3FFF) || off < 0x50 || (flags & SLOW_FLAGS) != FLAG_ACK) {
        return 0;
    }
    const unsigned char *key = frame + 26;
    PyObject *entry; /* borrowed from memo */
    if (w->memo[0] != NULL && memcmp(key, w->memo_key[0], KEY_SIZE) == 0) {
        entry = w->memo[0];
    }
    else if (w->memo[1] != NULL && memcmp(key, w->memo_key[1], KEY_SIZE) == 0) {
        entry = w->memo[1];
    }
    else {
        PyObject *key_bytes = PyBytes_FromStringAndSize((const char *)key, KEY_SIZE);
        if (key_bytes == NULL) {
            return -1;
        }
        entry = PyDict_GetItemWithError(w->cache, key_bytes);
        Py_DECREF(key_bytes);
        if (entry == NULL) {
            return PyErr_Occurred() ? -1 : 0;
        }
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 5) {
            return 0;
        }
        Py_INCREF(entry);
        Py_XSETREF(w->memo[w->memo_next], entry);
        memcpy(w->memo_key[w->memo_next], key, KEY_SIZE);
        w->memo_next ^= 1;
    }
    Py_ssize_t stop = start + ETH_HEADER + (Py_ssize_t)ip_total;
    Py_ssize_t first = start + ETH_HEADER + IPV4_HEADER + (Py_ssize_t)(off >> 4) * 4;
    if (!(first <= stop && stop <= end)) {
        return 0;
    }
    PyObject *conn = PyTuple_GET_ITEM(entry, 0);
    PyObject *stream = PyTuple_GET_ITEM(entry, 2);
    PyObject *other = PyTuple_GET_ITEM(entry, 3);
    if (get_truth(conn, ATTR_SLOW) != 0) {
        return 0;
    }
    long long base = 0, delivered = 0, other_base = 0, other_delivered = 0;
    int base_none = 1, other_none = 1;
    if (!get_count(stream, ATTR_BASE, &base, &base_none) || base_none ||
        !get_count(other, ATTR_BASE, &other_base, &other_none)) {
        return 0;
    }
    uint32_t seq = be32(frame + 38);
    uint32_t ack = be32(frame + 42);
    if (!other_none) {
        long long other_fin = 0;
        int other_fin_none = 0;
        if (!get_count(other, ATTR_FIN, &other_fin, &other_fin_none) || !other_fin_none ||
            !get_count(other, ATTR_DELIVERED, &other_delivered, NULL)) {
            return 0; /* an ACK past the FIN counts up to it: the general path decides */
        }
        uint32_t ahead = ack - (uint32_t)other_base - (uint32_t)other_delivered;
        if (ahead != 0 && ahead <= MAX_ACK_JUMP) {
            return 0; /* acknowledges bytes not seen yet: the general path waits for them */
        }
    }
    if (first == stop) {
        return 1;
    }
    if (get_truth(stream, ATTR_PENDING) != 0 ||
        !get_count(stream, ATTR_DELIVERED, &delivered, NULL) ||
        (uint32_t)(seq - (uint32_t)base - (uint32_t)delivered) != 0) {
        return 0;
    }
    PyObject *payload = PyBytes_FromStringAndSize((const char *)buf + first, stop - first);
    if (payload == NULL) {
        return -1;
    }
    if (deliver(stream, delivered, payload, w->trim) < 0) {
        Py_DECREF(payload);
        return -1;
    }
    PyObject *piece = PyStructSequence_New(PieceType);
    PyObject *when = PyLong_FromLongLong(time_ns);
    if (piece == NULL || when == NULL) {
        Py_XDECREF(piece);
        Py_XDECREF(when);
        Py_DECREF(payload);
        return -1;
    }
    PyStructSequence_SET_ITEM(piece, 0, payload);
    PyStructSequence_SET_ITEM(piece, 1, when);
    if (w->run_entry != entry) {
        if (end_run(w->runs, &w->run_entry, &w->run_pieces) < 0 ||
            (w->run_pieces = PyList_New(0)) == NULL) {
            Py_DECREF(piece);
            return -1;
        }
        Py_INCREF(entry);
        w->run_entry = entry;
    }
    int failed = PyList_Append(w->run_pieces, piece) < 0;
    Py_DECREF(piece);
    return failed ? -1 : 1;
}

static int walk_start(Walk *w, PyObject *cache, PyObject *trim)
{
    memset(w, 0, sizeof(*w));
    w->cache = cache;
    w->trim = trim;
    w->runs = PyList_New(0);
    return w->runs == NULL ? -1 : 0;
}

/* Close the last run and release the walk; the runs, or NULL after a failure. */
static PyObject *walk_end(Walk *w, int failed)
{
    if (!failed && end_run(w->runs, &w->run_entry, &w->run_pieces) < 0) {
        failed = 1;
    }
    Py_XDECREF(w->run_pieces);
    Py_XDECREF(w->run_entry);
    Py_XDECREF(w->memo[0]);
    Py_XDECREF(w->memo[1]);
    if (failed) {
        Py_CLEAR(w->runs);
    }
    return w->runs;
}

static PyObject *fast_records(PyObject *module, PyObject *args)
{
    Py_buffer view;
    Py_ssize_t pos, header_size;
    int big_endian;
    long long unit;
    PyObject *cache, *trim;
    if (!PyArg_ParseTuple(args, "y*nnpLO!O", &view, &pos, &header_size, &big_endian, &unit,
                          &PyDict_Type, &cache, &trim)) {
        return NULL;
    }
    const unsigned char *buf = (const unsigned char *)view.buf;
    const Py_ssize_t total = view.len;
    if (pos < 0 || pos > total) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "pos outside the buffer");
        return NULL;
    }
    if ((header_size != 16 && header_size != 24) || unit < 1 || unit > 1000) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "not a pcap record layout");
        return NULL;
    }
    Walk walk;
    if (walk_start(&walk, cache, trim) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    Py_ssize_t taken = 0;
    long long last_time = -1;
    int failed = 0;

    while (total - pos >= header_size) {
        const unsigned char *head = buf + pos;
        uint32_t sec = big_endian ? be32(head) : le32(head);
        uint32_t frac = big_endian ? be32(head + 4) : le32(head + 4);
        uint32_t incl = big_endian ? be32(head + 8) : le32(head + 8);
        Py_ssize_t start = pos + header_size;
        if ((uint64_t)incl > (uint64_t)(total - start)) {
            break;
        }
        Py_ssize_t end = start + (Py_ssize_t)incl;
        long long time_ns = (long long)sec * 1000000000LL + (long long)frac * unit;
        int took = take_frame(&walk, buf, start, end, time_ns);
        if (took <= 0) {
            failed = took < 0;
            break;
        }
        taken++;
        last_time = time_ns;
        pos = end;
    }
    PyBuffer_Release(&view);
    PyObject *runs = walk_end(&walk, failed);
    if (runs == NULL) {
        return NULL;
    }
    if (last_time < 0) {
        return Py_BuildValue("(nnNO)", pos, taken, runs, Py_None);
    }
    return Py_BuildValue("(nnNL)", pos, taken, runs, last_time);
}

/* An interface's timestamp rule: ns = ticks * mul + offset_ns; mul 0: not taken. */
typedef struct {
    long long mul, offset_ns;
} Ticks;

static uint32_t get32(const unsigned char *p, int big_endian)
{
    return big_endian ? be32(p) : le32(p);
}

static PyObject *fast_blocks(PyObject *module, PyObject *args)
{
    Py_buffer view;
    Py_ssize_t pos;
    int big_endian;
    long long last_time;
    PyObject *interfaces, *cache, *trim;
    if (!PyArg_ParseTuple(args, "y*npO!LO!O", &view, &pos, &big_endian, &PyTuple_Type,
                          &interfaces, &last_time, &PyDict_Type, &cache, &trim)) {
        return NULL;
    }
    const unsigned char *buf = (const unsigned char *)view.buf;
    const Py_ssize_t total = view.len;
    if (pos < 0 || pos > total) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "pos outside the buffer");
        return NULL;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(interfaces);
    Ticks *ticks = PyMem_New(Ticks, count ? count : 1);
    if (ticks == NULL) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PyTuple_GET_ITEM(interfaces, i);
        if (!PyTuple_Check(item) ||
            !PyArg_ParseTuple(item, "LL", &ticks[i].mul, &ticks[i].offset_ns) ||
            ticks[i].mul < 0 || ticks[i].offset_ns < -MAX_TIME_OFFSET ||
            ticks[i].offset_ns > MAX_TIME_OFFSET) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_ValueError, "not an interface's (mul, offset_ns)");
            }
            PyMem_Free(ticks);
            PyBuffer_Release(&view);
            return NULL;
        }
    }
    Walk walk;
    if (walk_start(&walk, cache, trim) < 0) {
        PyMem_Free(ticks);
        PyBuffer_Release(&view);
        return NULL;
    }
    Py_ssize_t taken = 0;
    int failed = 0;

    while (total - pos >= 12) {
        const unsigned char *block = buf + pos;
        uint32_t type = get32(block, big_endian);
        uint32_t length = get32(block + 4, big_endian);
        if (length < 12 || (length & 3) || length > MAX_BLOCK ||
            (Py_ssize_t)length > total - pos || get32(block + length - 4, big_endian) != length) {
            break;
        }
        Py_ssize_t start, end;
        long long time_ns;
        if (type == BLOCK_EPB) {
            if (length < 32) {
                break;
            }
            uint32_t iface = get32(block + 8, big_endian);
            uint32_t caplen = get32(block + 20, big_endian);
            if (caplen > length - 32 || iface >= (uint64_t)count || ticks[iface].mul == 0) {
                break;
            }
            uint64_t when = ((uint64_t)get32(block + 12, big_endian) << 32) |
                            get32(block + 16, big_endian);
            long long mul = ticks[iface].mul, offset_ns = ticks[iface].offset_ns;
            if (when > (uint64_t)INT64_MAX / (uint64_t)mul) {
                break;
            }
            time_ns = (long long)(when * (uint64_t)mul);
            if (offset_ns > 0 && time_ns > INT64_MAX - offset_ns) {
                break;
            }
            time_ns += offset_ns;
            start = pos + 28;
            end = start + (Py_ssize_t)caplen;
        }
        else if (type == BLOCK_SPB) {
            if (length < 16 || count == 0 || ticks[0].mul == 0) {
                break;
            }
            uint32_t orig = get32(block + 8, big_endian);
            uint32_t caplen = orig < length - 16 ? orig : length - 16;
            time_ns = last_time;
            start = pos + 12;
            end = start + (Py_ssize_t)caplen;
        }
        else {
            break;
        }
        int took = take_frame(&walk, buf, start, end, time_ns);
        if (took <= 0) {
            failed = took < 0;
            break;
        }
        taken++;
        last_time = time_ns;
        pos += (Py_ssize_t)length;
    }
    PyMem_Free(ticks);
    PyBuffer_Release(&view);
    PyObject *runs = walk_end(&walk, failed);
    if (runs == NULL) {
        return NULL;
    }
    return Py_BuildValue("(nnNL)", pos, taken, runs, last_time);
}

/* The offset of type's slot name into *offset: 0, or -1 (TypeError) when instances would not
 * find name as a plain __slots__ member through the generic getattr and setattr. */
static int slot_offset(PyTypeObject *type, PyObject *name, Py_ssize_t *offset)
{
    if (type->tp_getattro != PyObject_GenericGetAttr ||
        type->tp_setattro != PyObject_GenericSetAttr) {
        PyErr_Format(PyExc_TypeError, "%R customises attribute access", type);
        return -1;
    }
    PyObject *descr = PyObject_GetAttr((PyObject *)type, name);
    if (descr == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError)) {
            return -1;
        }
        PyErr_Clear();
    }
    int member = descr != NULL && Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
                 ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX &&
                 !(((PyMemberDescrObject *)descr)->d_member->flags & READONLY);
    if (member) {
        *offset = ((PyMemberDescrObject *)descr)->d_member->offset;
    }
    Py_XDECREF(descr);
    if (!member) {
        PyErr_Format(PyExc_TypeError, "%R needs a slot %S", type, name);
        return -1;
    }
    return 0;
}

static PyObject *bind_slots(PyObject *module, PyObject *args)
{
    PyTypeObject *types[2]; /* Stream, Connection */
    if (!PyArg_ParseTuple(args, "O!O!", &PyType_Type, &types[0], &PyType_Type, &types[1])) {
        return NULL;
    }
    Py_ssize_t offsets[N_ATTRS];
    for (int i = 0; i < N_ATTRS; i++) {
        if (slot_offset(types[i == ATTR_SLOW], attr_strs[i], &offsets[i]) < 0) {
            return NULL;
        }
    }
    memcpy(attr_offsets, offsets, sizeof(offsets));
    Py_XSETREF(stream_type, (PyTypeObject *)Py_NewRef(types[0]));
    Py_XSETREF(connection_type, (PyTypeObject *)Py_NewRef(types[1]));
    Py_RETURN_NONE;
}

static PyMethodDef fast_path_methods[] = {
    {"bind_slots", bind_slots, METH_VARARGS,
     "Read instances of exactly (stream_type, connection_type) through their slots."},
    {"fast_records", fast_records, METH_VARARGS,
     "Take the fast-path records of a pcap buffer: (pos, taken, runs, last_time)."},
    {"fast_blocks", fast_blocks, METH_VARARGS,
     "Take the fast-path packet blocks of a pcapng buffer: (pos, taken, runs, last_time)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef fast_path_module = {
    PyModuleDef_HEAD_INIT, "sniffer.sources._fast_path", "The capture source's C hot loop.",
    -1, fast_path_methods,
};

PyMODINIT_FUNC PyInit__fast_path(void)
{
    for (int i = 0; i < N_ATTRS; i++) {
        attr_strs[i] = PyUnicode_InternFromString(attr_names[i]);
        if (attr_strs[i] == NULL) {
            return NULL;
        }
    }
    PieceType = PyStructSequence_NewType(&piece_desc);
    if (PieceType == NULL) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&fast_path_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(PieceType);
    if (PyModule_AddObject(module, "Piece", (PyObject *)PieceType) < 0) {
        Py_DECREF(PieceType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
