/* camshark/1 JSON objects and text lines of the common SmartLPR messages, straight from their
 * LeanRecords; dissectors/smartlpr/lean_json.py builds the Renderer (None where this was not
 * built).
 *
 * Renderer(lean_type, head, types, labels, names).render(items, index, base_ns, fragments,
 * with_hex, separator, terminator, out) appends separator + object + terminator to out for
 * items[index], items[index + 1], ... while the item is exactly a lean_type, fragments holds
 * its side, and it is the common case: its frame one of ACK, Status, healthy StatusResponse,
 * Trigger and LicenseInfo v2 in its plain form (Etx, Size, Bcc good; decode reports nothing;
 * texts in UTF-8 that JSON and repr() write as they are), its ints within 64 bits, its times
 * plain decimals, and its problems' texts free of control characters. It returns the index of
 * the first item it did not render, having written nothing for it: the caller renders that
 * one through the Record path (codec.decode, record_to_dict, orjson), whose output this is
 * byte for byte (tests/dissectors/test_smartlpr_json.py). render_text(items, index, base_ns,
 * fragments, marks, out) does the same with the text line of sniffer/output/text.py
 * (format_line + "\n"), fragments then holding each side's "src → dst arrow protocol" and
 * marks the (severity, mark) pairs; a problem of another severity stops it. Both share the
 * reading of the message and its summary. Every decision about anything else is the Record
 * path's. Every byte read is bounded by the LeanRecord's data: any input is safe.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

#include "smartlpr_wire.h"
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define LICENSE_INFO_VERSION 2
#define LICENSE_INFO_LENGTH (LEN_OVERHEAD + 169)
#define USEC_PER_S 1000000u
#define EXACT_SECONDS_NS (4194304LL * 1000000000LL) /* sniffer/output/json.py */

enum { T_ACK, T_STATUS, T_STATUS_RESPONSE, T_TRIGGER, T_LICENSE_INFO, N_TYPES };
enum { S_NUMBER, S_SIDE, S_TIME, S_LENGTH, S_PROBLEMS, S_REQUEST_IN, S_RESPONSE_IN,
       S_LATENCY, S_DATA, S_OFFSET, S_STREAM_START, S_TEXTS, N_SLOTS };
static const char *slot_names[N_SLOTS] = {
    "number", "side", "time_ns", "length", "problems", "request_in", "response_in",
    "latency_ns", "data", "offset", "stream_start", "texts",
};

/* -- an output buffer that grows ---------------------------------------------------------- */

#define INLINE_BUF 32768
#define FLUSH_AT 16384

/* Objects are written here, then appended to out FLUSH_AT bytes at a time: the buffer stays
 * in cache and an object that stops half-way is simply cut off. It starts in its own inline
 * storage and moves to the heap only for an object larger than that (very long texts). */
typedef struct {
    char *p;
    Py_ssize_t len, cap;
    char inline_storage[INLINE_BUF];
} Buf;

static int grow(Buf *b, Py_ssize_t extra)
{
    if (extra > PY_SSIZE_T_MAX / 2 - b->len) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t cap = (b->len + extra) * 2;
    char *p;
    if (b->p == b->inline_storage) {
        p = PyMem_Malloc((size_t)cap);
        if (p != NULL) {
            memcpy(p, b->p, (size_t)b->len);
        }
    }
    else {
        p = PyMem_Realloc(b->p, (size_t)cap);
    }
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

/* room for extra more bytes; -1 on MemoryError */
static inline __attribute__((always_inline)) int reserve(Buf *b, Py_ssize_t extra)
{
    return extra <= b->cap - b->len ? 0 : grow(b, extra);
}

static inline __attribute__((always_inline)) int put(Buf *b, const char *s, Py_ssize_t n)
{
    if (reserve(b, n) < 0) {
        return -1;
    }
    memcpy(b->p + b->len, s, (size_t)n);
    b->len += n;
    return 0;
}

/* s must be a string literal (the "" around it refuse anything else) */
#define PUT_LITERAL(b, s) put((b), "" s "", (Py_ssize_t)(sizeof(s) - 1))

static inline int put_bytes(Buf *b, PyObject *bytes)
{
    return put(b, PyBytes_AS_STRING(bytes), PyBytes_GET_SIZE(bytes));
}

static char digit_pairs[200]; /* "000102...99", filled at import */

/* v in decimal, ending just before end: where it starts */
static char *u64_digits(char *end, uint64_t v)
{
    char *at = end;
    while (v >= 100) {
        at -= 2;
        memcpy(at, digit_pairs + 2 * (v % 100), 2);
        v /= 100;
    }
    if (v >= 10) {
        at -= 2;
        memcpy(at, digit_pairs + 2 * v, 2);
    }
    else {
        *--at = (char)('0' + v);
    }
    return at;
}

static int put_u64(Buf *b, uint64_t v)
{
    char digits[20];
    char *at = u64_digits(digits + sizeof digits, v);
    return put(b, at, digits + sizeof digits - at);
}

static int put_i64(Buf *b, int64_t v)
{
    if (v < 0) {
        if (PUT_LITERAL(b, "-") < 0) {
            return -1;
        }
        return put_u64(b, (uint64_t)0 - (uint64_t)v);
    }
    return put_u64(b, (uint64_t)v);
}

/* an int or null */
static int put_optional(Buf *b, int present, int64_t v)
{
    return present ? put_i64(b, v) : PUT_LITERAL(b, "null");
}

/* repr(x), which is also what orjson writes when it has no exponent: 1 written, 0 not plain
 * (an exponent, inf or nan), -1 on error */
static int put_double(Buf *b, double x)
{
    char *text = PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (text == NULL) {
        return -1;
    }
    int plain = strpbrk(text, "en") == NULL;
    int result = plain ? (put(b, text, (Py_ssize_t)strlen(text)) < 0 ? -1 : 1) : 0;
    PyMem_Free(text);
    return result;
}

/* repr(v / 10.0**decimals) without a float, for |v| < 2**53 / ... see below: 1 written, 0
 * when repr would write an exponent (0 < |v| / 10**decimals < 1e-4), -1 on error.
 *
 * For |v| < 2**53 the double v / 10**decimals (both operands exact) is the double nearest to
 * the decimal D = v / 10**decimals. While the ulp there is below 10**-decimals (the callers'
 * bounds), D with its trailing zeros dropped is the shortest decimal that rounds to that
 * double: any other with as few places is at least 10**-decimals away, outside its rounding
 * interval. That is repr's text; from 1e-4 up (and below 1e16) repr writes it without an
 * exponent. The tests check every accepted value against orjson's text. */
static int put_decimal(Buf *b, int64_t v, int decimals, uint64_t scale)
{
    uint64_t magnitude = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (magnitude == 0) {
        return PUT_LITERAL(b, "0.0") < 0 ? -1 : 1;
    }
    if (magnitude < scale / 10000) {
        return 0;
    }
    if ((v < 0 && PUT_LITERAL(b, "-") < 0) || put_u64(b, magnitude / scale) < 0 ||
        PUT_LITERAL(b, ".") < 0) {
        return -1;
    }
    uint64_t fraction = magnitude % scale;
    if (fraction == 0) {
        return PUT_LITERAL(b, "0") < 0 ? -1 : 1;
    }
    char digits[20];
    int n = decimals;
    for (int i = decimals - 1; i >= 0; i--) {
        digits[i] = (char)('0' + fraction % 10);
        fraction /= 10;
    }
    while (digits[n - 1] == '0') {
        n--;
    }
    return put(b, digits, n) < 0 ? -1 : 1;
}

#define NS_PER_S 1000000000ULL
#define NS_PER_MS 1000000ULL
#define EXACT_MS_NS (8589934592LL * 1000000LL) /* 2**33 ms: the ulp is below 1e-6 below it */

/* seconds(delta) of sniffer/output/json.py (|delta| < EXACT_SECONDS_NS: no rounding) */
static int put_seconds(Buf *b, int64_t delta)
{
    return put_decimal(b, delta, 9, NS_PER_S);
}

/* latency_ns / 1e6 */
static int put_milliseconds(Buf *b, int64_t ns)
{
    if (ns > -EXACT_MS_NS && ns < EXACT_MS_NS) {
        return put_decimal(b, ns, 6, NS_PER_MS);
    }
    return put_double(b, (double)ns / 1e6);
}

/* bytes as a JSON string body, escaping only " and \: 1 written, 0 a control character
 * (orjson would escape it otherwise: not written), -1 on error */
static int put_escaped(Buf *b, const unsigned char *s, Py_ssize_t n)
{
    if (reserve(b, 2 * n) < 0) {
        return -1;
    }
    char *at = b->p + b->len;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c < 0x20) {
            return 0;
        }
        if (c == '"' || c == '\\') {
            *at++ = '\\';
        }
        *at++ = (char)c;
    }
    b->len = at - b->p;
    return 1;
}

/* a str (or subclass: orjson writes its characters) as a JSON string: 1 written, 0 not a
 * str, not UTF-8 encodable or holding a control character, -1 on error */
static int put_text(Buf *b, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        return 0;
    }
    Py_ssize_t n;
    const char *s;
    if (PyUnicode_IS_COMPACT_ASCII(text)) {
        s = (const char *)PyUnicode_DATA(text);
        n = PyUnicode_GET_LENGTH(text);
    }
    else {
        s = PyUnicode_AsUTF8AndSize(text, &n);
        if (s == NULL) {
            if (PyErr_ExceptionMatches(PyExc_MemoryError)) {
                return -1;
            }
            PyErr_Clear(); /* lone surrogates: orjson refuses them too */
            return 0;
        }
    }
    if (PUT_LITERAL(b, "\"") < 0) {
        return -1;
    }
    int written = put_escaped(b, (const unsigned char *)s, n);
    if (written <= 0) {
        return written;
    }
    return PUT_LITERAL(b, "\"") < 0 ? -1 : 1;
}

static char hex_pairs[512]; /* "000102...ff", filled at import */

#ifdef __SSE2__
/* 16 bytes as 32 lowercase hex digits at out */
static inline void hex16(char *out, const unsigned char *in)
{
    const __m128i low_nibbles = _mm_set1_epi8(0x0f), nine = _mm_set1_epi8(9);
    const __m128i zero = _mm_set1_epi8('0'), letters = _mm_set1_epi8('a' - '0' - 10);
    __m128i x = _mm_loadu_si128((const __m128i *)in);
    __m128i high = _mm_and_si128(_mm_srli_epi16(x, 4), low_nibbles);
    __m128i low = _mm_and_si128(x, low_nibbles);
    high = _mm_add_epi8(_mm_add_epi8(high, zero),
                        _mm_and_si128(_mm_cmpgt_epi8(high, nine), letters));
    low = _mm_add_epi8(_mm_add_epi8(low, zero), _mm_and_si128(_mm_cmpgt_epi8(low, nine), letters));
    _mm_storeu_si128((__m128i *)out, _mm_unpacklo_epi8(high, low));
    _mm_storeu_si128((__m128i *)(out + 16), _mm_unpackhi_epi8(high, low));
}
#endif

static int put_hex(Buf *b, const unsigned char *s, Py_ssize_t n)
{
    if (reserve(b, 2 * n) < 0) {
        return -1;
    }
    char *at = b->p + b->len;
    Py_ssize_t i = 0;
#ifdef __SSE2__
    for (; i + 16 <= n; i += 16) {
        hex16(at + 2 * i, s + i);
    }
#endif
    for (; i < n; i++) {
        memcpy(at + 2 * i, hex_pairs + 2 * s[i], 2);
    }
    b->len += 2 * n;
    return 0;
}

/* -- reading the LeanRecord --------------------------------------------------------------- */

/* an exact int within 64 bits: 1 (in *out), else 0 */
static int int64_of(PyObject *value, int64_t *out)
{
    if (value == NULL || !PyLong_CheckExact(value)) {
        return 0;
    }
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow || (v == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    *out = (int64_t)v;
    return 1;
}

/* None (0) or an exact int within 64 bits (1, in *out); else -1 */
static int optional_int64_of(PyObject *value, int64_t *out)
{
    if (value == Py_None) {
        return 0;
    }
    return int64_of(value, out) ? 1 : -1;
}

/* A zero-padded text field as wire.py's _text reads it, when that is plain: every byte up to
 * the last non-zero one strict UTF-8 (as Python decodes it: no overlong form, surrogate or
 * code point beyond U+10FFFF), no character below U+0020 (JSON would escape it) and, for a
 * plate text (shown by repr() in the summary), none that repr() escapes or that changes its
 * quotes: ', \ and what str.isprintable() refuses. Its length in bytes, and in characters at
 * *characters; -1 when not plain. */
static Py_ssize_t plain_text_length(const unsigned char *s, Py_ssize_t size, int plate,
                                    Py_ssize_t *characters)
{
    Py_ssize_t n = size;
    uint64_t word;
    while (n >= 8 && (memcpy(&word, s + n - 8, 8), word == 0)) {
        n -= 8;
    }
    while (n > 0 && s[n - 1] == 0) {
        n--;
    }
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < n; count++) {
        unsigned c = s[i];
        if (c < 0x80) {
            if (c < 0x20 || (plate && (c == '\'' || c == '\\' || c == 0x7f))) {
                return -1;
            }
            i++;
            continue;
        }
        Py_ssize_t width;
        Py_UCS4 code;
        if (c >= 0xc2 && c <= 0xdf) {
            width = 2;
            code = c & 0x1f;
        }
        else if (c >= 0xe0 && c <= 0xef) {
            width = 3;
            code = c & 0x0f;
        }
        else if (c >= 0xf0 && c <= 0xf4) {
            width = 4;
            code = c & 0x07;
        }
        else {
            return -1;
        }
        if (width > n - i) {
            return -1;
        }
        for (Py_ssize_t k = 1; k < width; k++) {
            unsigned next = s[i + k];
            if ((next & 0xc0) != 0x80) {
                return -1;
            }
            code = (code << 6) | (next & 0x3f);
        }
        if ((width == 3 && (code < 0x800 || (code >= 0xd800 && code <= 0xdfff))) ||
            (width == 4 && (code < 0x10000 || code > 0x10ffff)) ||
            (plate && !Py_UNICODE_ISPRINTABLE(code))) {
            return -1;
        }
        i += width;
    }
    *characters = count;
    return n;
}

/* -- the Renderer -------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *lean_type;
    PyObject *head;   /* bytes: {"schema":...,"frame": */
    PyObject *labels; /* tuple of bytes, by T_*: ,"type":...,"kind":...,"summary":" */
    PyObject *names;  /* tuple of bytes, by T_*: the type names, UTF-8 */
    long types[N_TYPES];
    Py_ssize_t slot[N_SLOTS];
} Renderer;

typedef struct {
    int64_t base_ns;
    PyObject *fragments;
    int with_hex;
    PyObject *separator, *terminator; /* JSON */
    PyObject *marks;                  /* text */
} Call;

/* a LicenseInfo v2 body that decode reports nothing about, in its plain form */
typedef struct {
    Py_ssize_t chars, printable, country; /* lengths in bytes */
    Py_ssize_t characters;                /* detected characters */
    Py_ssize_t qualities;                 /* up to the last non-zero one */
} Plate;

static int plain_license_info(const unsigned char *body, Plate *plate)
{
    if (le32(body + 8) == 0 || le32(body + 12) >= USEC_PER_S) {
        return 0;
    }
    plate->qualities = 0;
    for (Py_ssize_t i = 0; i < 40; i++) {
        unsigned char q = body[56 + i];
        if (q > MAX_QUALITY) {
            return 0;
        }
        if (q) {
            plate->qualities = i + 1;
        }
    }
    Py_ssize_t unused;
    plate->chars = plain_text_length(body + 16, 40, 1, &plate->characters);
    plate->printable = plain_text_length(body + 97, 40, 1, &unused);
    plate->country = plain_text_length(body + 137, 32, 0, &unused);
    return plate->chars > 0 && plate->printable >= 0 && plate->country >= 0;
}

/* how many qualities are shown: those of the detected characters */
static inline Py_ssize_t shown_qualities(const Plate *plate)
{
    return plate->characters < plate->qualities ? plate->characters : plate->qualities;
}

/* which common message the frame is (T_*), or -1 */
static int common_type(Renderer *self, const unsigned char *f, Py_ssize_t length, Plate *plate)
{
    long type = (long)le16(f + 9);
    if (type == self->types[T_ACK] && length == LEN_OVERHEAD) {
        return T_ACK;
    }
    if (type == self->types[T_STATUS] && length == LEN_OVERHEAD) {
        return T_STATUS;
    }
    if (type == self->types[T_STATUS_RESPONSE] && length == LEN_OVERHEAD + 3 &&
        f[LEN_HEADER] == 1 && f[LEN_HEADER + 2] == 1) {
        return T_STATUS_RESPONSE;
    }
    if (type == self->types[T_TRIGGER] && length == LEN_OVERHEAD + 4) {
        return T_TRIGGER;
    }
    if (type == self->types[T_LICENSE_INFO] && length == LICENSE_INFO_LENGTH &&
        le16(f + 11) == LICENSE_INFO_VERSION && plain_license_info(f + LEN_HEADER, plate)) {
        return T_LICENSE_INFO;
    }
    return -1;
}

/* a number below 1000, at at: how many characters */
static inline int small_number(char *at, unsigned v)
{
    if (v >= 100) {
        at[0] = (char)('0' + v / 100);
        at[1] = (char)('0' + v / 10 % 10);
        at[2] = (char)('0' + v % 10);
        return 3;
    }
    if (v >= 10) {
        at[0] = (char)('0' + v / 10);
        at[1] = (char)('0' + v % 10);
        return 2;
    }
    at[0] = (char)('0' + v);
    return 1;
}

/* the qualities of the detected characters: {"quality_1":..,"_value":"q q .."} or "" */
static int put_qualities(Buf *b, const unsigned char *q, Py_ssize_t count)
{
    static const char name[] = "\"quality_";
    static const char value[] = "\"_value\":\"";
    /* count <= 40: at most 17 bytes an entry, 4 in the text */
    char scratch[40 * 17 + 40 * 4 + 64];
    char *at = scratch;
    if (count == 0) {
        return PUT_LITERAL(b, "\"\"");
    }
    *at++ = '{';
    for (Py_ssize_t i = 0; i < count; i++) {
        memcpy(at, name, sizeof name - 1);
        at += sizeof name - 1;
        at += small_number(at, (unsigned)i + 1);
        *at++ = '"';
        *at++ = ':';
        at += small_number(at, q[i]);
        *at++ = ',';
    }
    memcpy(at, value, sizeof value - 1);
    at += sizeof value - 1;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (i) {
            *at++ = ' ';
        }
        at += small_number(at, q[i]);
    }
    *at++ = '"';
    *at++ = '}';
    return put(b, scratch, at - scratch);
}

/* a text of the frame in the summary: JSON-escaped or as it is */
static int put_shown(Buf *b, const unsigned char *s, Py_ssize_t n, int json)
{
    return json ? put_escaped(b, s, n) : put(b, (const char *)s, n);
}

static int put_license_info_summary(Buf *b, const unsigned char *body, const Plate *plate,
                                    int json)
{
    char scratch[16];
    Py_ssize_t shown_at = plate->printable ? 97 : 16;
    Py_ssize_t shown = plate->printable ? plate->printable : plate->chars;
    if (PUT_LITERAL(b, "LicenseInfo car ") < 0 || put_u64(b, le32(body)) < 0 ||
        PUT_LITERAL(b, " plate '") < 0 || put_shown(b, body + shown_at, shown, json) < 0 ||
        PUT_LITERAL(b, "'") < 0) {
        return -1;
    }
    if (plate->country) {
        if (PUT_LITERAL(b, " ") < 0 || put_shown(b, body + 137, plate->country, json) < 0) {
            return -1;
        }
    }
    Py_ssize_t count = shown_qualities(plate);
    if (count == 0) {
        if (PUT_LITERAL(b, " q=-") < 0) {
            return -1;
        }
    }
    else {
        unsigned low = 255, high = 0;
        for (Py_ssize_t i = 0; i < count; i++) {
            unsigned q = body[56 + i];
            low = q < low ? q : low;
            high = q > high ? q : high;
        }
        char *at = scratch;
        memcpy(at, " q=", 3);
        at += 3 + small_number(at + 3, low);
        if (low != high) {
            *at++ = '-';
            at += small_number(at, high);
        }
        if (put(b, scratch, at - scratch) < 0) {
            return -1;
        }
    }
    int32_t trigger = (int32_t)le32(body + 4);
    if (trigger == -1) {
        return PUT_LITERAL(b, " trig hw");
    }
    return PUT_LITERAL(b, " trig ") < 0 ? -1 : put_i64(b, trigger);
}

/* the Dissection's summary of the frame, its texts JSON-escaped or not */
static int put_summary(Buf *b, int which, const unsigned char *f, const Plate *plate, int json)
{
    const unsigned char *body = f + LEN_HEADER;
    switch (which) {
    case T_ACK:
        return PUT_LITERAL(b, "ACK id=") < 0 ? -1 : put_u64(b, le32(f + 13));
    case T_STATUS:
        return PUT_LITERAL(b, "Status");
    case T_STATUS_RESPONSE:
        return PUT_LITERAL(b, "StatusResponse active io=") < 0 || put_u64(b, body[1]) < 0
                   ? -1
                   : PUT_LITERAL(b, " camera ok");
    case T_TRIGGER:
        return PUT_LITERAL(b, "Trigger ") < 0 ? -1 : put_i64(b, (int32_t)le32(body));
    default:
        return put_license_info_summary(b, body, plate, json);
    }
}

/* "summary":"...","length":...,"stream_offset":...,"fields":{...} of the frame (its label
 * written before) */
static int put_message(Buf *b, int which, const unsigned char *f, Py_ssize_t length,
                       int64_t stream_offset, const Plate *plate)
{
    const unsigned char *body = f + LEN_HEADER;
    int failed = put_summary(b, which, f, plate, 1) < 0;
    if (failed || PUT_LITERAL(b, "\",\"length\":") < 0 || put_i64(b, length) < 0 ||
        PUT_LITERAL(b, ",\"stream_offset\":") < 0 || put_i64(b, stream_offset) < 0 ||
        PUT_LITERAL(b, ",\"fields\":{\"stx\":2,\"unit_id\":") < 0 || put_u64(b, le32(f + 1)) < 0 ||
        PUT_LITERAL(b, ",\"size\":") < 0 || put_u64(b, le32(f + 5)) < 0 ||
        PUT_LITERAL(b, ",\"type\":") < 0 || put_u64(b, le16(f + 9)) < 0 ||
        PUT_LITERAL(b, ",\"version\":") < 0 || put_u64(b, le16(f + 11)) < 0 ||
        PUT_LITERAL(b, ",\"id\":") < 0 || put_u64(b, le32(f + 13)) < 0) {
        return -1;
    }
    switch (which) {
    case T_STATUS_RESPONSE:
        failed = PUT_LITERAL(b, ",\"active\":true,\"io\":") < 0 || put_u64(b, body[1]) < 0 ||
                 PUT_LITERAL(b, ",\"camera_ok\":true") < 0;
        break;
    case T_TRIGGER:
        failed = PUT_LITERAL(b, ",\"trigger_id\":") < 0 || put_i64(b, (int32_t)le32(body)) < 0;
        break;
    case T_LICENSE_INFO: {
        Py_ssize_t count = shown_qualities(plate);
        failed = PUT_LITERAL(b, ",\"car_id\":") < 0 || put_u64(b, le32(body)) < 0 ||
                 PUT_LITERAL(b, ",\"trigger_id\":") < 0 ||
                 put_i64(b, (int32_t)le32(body + 4)) < 0 ||
                 PUT_LITERAL(b, ",\"timestamp\":") < 0 || put_u64(b, le32(body + 8)) < 0 ||
                 PUT_LITERAL(b, ",\"timestamp_usec\":") < 0 || put_u64(b, le32(body + 12)) < 0 ||
                 PUT_LITERAL(b, ",\"plate\":\"") < 0 ||
                 put_escaped(b, body + 16, plate->chars) < 0 ||
                 PUT_LITERAL(b, "\",\"qualities\":") < 0 ||
                 put_qualities(b, body + 56, count) < 0 ||
                 (body[96] ? PUT_LITERAL(b, ",\"grammar_ok\":true,\"printable\":\"")
                           : PUT_LITERAL(b, ",\"grammar_ok\":false,\"printable\":\"")) < 0 ||
                 put_escaped(b, body + 97, plate->printable) < 0 ||
                 PUT_LITERAL(b, "\",\"country\":\"") < 0 ||
                 put_escaped(b, body + 137, plate->country) < 0 || PUT_LITERAL(b, "\"") < 0;
        break;
    }
    default:
        break;
    }
    if (failed || PUT_LITERAL(b, ",\"bcc\":") < 0 || put_u64(b, f[length - 2]) < 0 ||
        PUT_LITERAL(b, ",\"etx\":3}") < 0) {
        return -1;
    }
    return 0;
}

/* ,"problems":[...]: 1 written, 0 not the common case, -1 on error */
static int put_problems(Buf *b, PyObject *problems, PyObject *texts)
{
    if (problems == NULL || texts == NULL || (texts != Py_None && !PyList_CheckExact(texts))) {
        return 0;
    }
    if (problems == Py_None || (PyList_CheckExact(problems) && PyList_GET_SIZE(problems) == 0)) {
        return PUT_LITERAL(b, ",\"problems\":[]") < 0 ? -1 : 1;
    }
    if (!PyList_CheckExact(problems) || texts == Py_None ||
        PyList_GET_SIZE(texts) != PyList_GET_SIZE(problems)) {
        return 0;
    }
    if (PUT_LITERAL(b, ",\"problems\":[") < 0) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(problems); i++) {
        PyObject *problem = PyList_GET_ITEM(problems, i);
        if (!PyTuple_CheckExact(problem) || PyTuple_GET_SIZE(problem) != 2) {
            return 0;
        }
        int written;
        if ((i && PUT_LITERAL(b, ",") < 0) || PUT_LITERAL(b, "{\"severity\":") < 0 ||
            (written = put_text(b, PyTuple_GET_ITEM(problem, 1))) < 0) {
            return -1;
        }
        if (!written) {
            return 0;
        }
        if (PUT_LITERAL(b, ",\"code\":") < 0 ||
            (written = put_text(b, PyTuple_GET_ITEM(problem, 0))) < 0) {
            return -1;
        }
        if (!written) {
            return 0;
        }
        if (PUT_LITERAL(b, ",\"text\":") < 0 ||
            (written = put_text(b, PyList_GET_ITEM(texts, i))) < 0) {
            return -1;
        }
        if (!written) {
            return 0;
        }
        if (PUT_LITERAL(b, "}") < 0) {
            return -1;
        }
    }
    return PUT_LITERAL(b, "]") < 0 ? -1 : 1;
}

static inline PyObject *slot_of(Renderer *self, PyObject *item, int which)
{
    return *(PyObject **)((char *)item + self->slot[which]);
}

/* what both forms read of an item */
typedef struct {
    PyObject *fragment; /* a new reference */
    const unsigned char *f;
    int64_t length, stream_offset, number, time_ns, delta;
    int64_t request_in, response_in, latency_ns;
    int has_request, has_response, has_latency;
    int which;
    Plate plate;
} Message;

/* The item's fragment and message when it is a common one: 1, 0 not (nothing held), -1 on
 * error. The item is held by the caller. */
static int read_message(Renderer *self, PyObject *item, const Call *call, Message *m)
{
    if (!Py_IS_TYPE(item, (PyTypeObject *)self->lean_type)) {
        return 0;
    }
    /* first, as it may run Python code (a side's __hash__ or __eq__): every slot is read
     * after it, and nothing else calls back into Python */
    PyObject *side = slot_of(self, item, S_SIDE);
    if (side == NULL) {
        return 0;
    }
    Py_INCREF(side);
    PyObject *fragment = PyDict_GetItemWithError(call->fragments, side);
    Py_DECREF(side);
    if (fragment == NULL) {
        if (PyErr_Occurred()) {
            if (PyErr_ExceptionMatches(PyExc_MemoryError)) {
                return -1;
            }
            PyErr_Clear(); /* an unhashable side */
        }
        return 0;
    }
    /* the item's type again: that code may even have re-initialised this renderer */
    if (!PyBytes_CheckExact(fragment) || !Py_IS_TYPE(item, (PyTypeObject *)self->lean_type)) {
        return 0;
    }
    PyObject *data = slot_of(self, item, S_DATA);
    int64_t offset, start;
    m->request_in = m->response_in = m->latency_ns = 0;
    if (data == NULL || !PyBytes_CheckExact(data) ||
        !int64_of(slot_of(self, item, S_OFFSET), &offset) ||
        !int64_of(slot_of(self, item, S_LENGTH), &m->length) ||
        !int64_of(slot_of(self, item, S_STREAM_START), &start) ||
        !int64_of(slot_of(self, item, S_NUMBER), &m->number) ||
        !int64_of(slot_of(self, item, S_TIME), &m->time_ns) ||
        (m->has_request = optional_int64_of(slot_of(self, item, S_REQUEST_IN), &m->request_in)) <
            0 ||
        (m->has_response =
             optional_int64_of(slot_of(self, item, S_RESPONSE_IN), &m->response_in)) < 0 ||
        (m->has_latency = optional_int64_of(slot_of(self, item, S_LATENCY), &m->latency_ns)) <
            0) {
        return 0;
    }
    Py_ssize_t size = PyBytes_GET_SIZE(data);
    int64_t length = m->length;
    if (offset < 0 || length < LEN_OVERHEAD || offset > size || length > size - offset ||
        __builtin_add_overflow(start, offset, &m->stream_offset) ||
        __builtin_sub_overflow(m->time_ns, call->base_ns, &m->delta)) {
        return 0;
    }
    const unsigned char *f = (const unsigned char *)PyBytes_AS_STRING(data) + offset;
    if (f[0] != STX || f[length - 1] != ETX || le32(f + 5) != (uint64_t)length) {
        return 0;
    }
    unsigned char bcc = xor_bytes(f, (Py_ssize_t)length - 2);
    Plate plate = {0, 0, 0, 0, 0};
    m->which = common_type(self, f, (Py_ssize_t)length, &plate);
    if (bcc != f[length - 2] || m->which < 0) {
        return 0;
    }
    m->f = f;
    m->plate = plate;
    Py_INCREF(fragment);
    m->fragment = fragment;
    return 1;
}

/* The item's object into b: 1 written, 0 not the common case (b as it was), -1 on error.
 * The item is held by the caller. */
static int render_json(Renderer *self, PyObject *item, const Call *call, Buf *b)
{
    Message m;
    int result = read_message(self, item, call, &m);
    if (result <= 0) {
        return result;
    }
    result = 0;
    Py_ssize_t mark = b->len;
    if (m.delta <= -EXACT_SECONDS_NS || m.delta >= EXACT_SECONDS_NS) {
        goto done;
    }
    int written;
    if (put_bytes(b, call->separator) < 0 || put_bytes(b, self->head) < 0 ||
        put_i64(b, m.number) < 0 || PUT_LITERAL(b, ",\"time\":") < 0 ||
        (written = put_seconds(b, m.delta)) < 0) {
        goto failed;
    }
    if (!written) {
        goto undo;
    }
    if (PUT_LITERAL(b, ",\"time_ns\":") < 0 || put_i64(b, m.time_ns) < 0 ||
        PUT_LITERAL(b, ",") < 0 || put_bytes(b, m.fragment) < 0 ||
        put_bytes(b, PyTuple_GET_ITEM(self->labels, m.which)) < 0 ||
        put_message(b, m.which, m.f, (Py_ssize_t)m.length, m.stream_offset, &m.plate) < 0 ||
        (written = put_problems(b, slot_of(self, item, S_PROBLEMS),
                                slot_of(self, item, S_TEXTS))) < 0) {
        goto failed;
    }
    if (!written) {
        goto undo;
    }
    if (PUT_LITERAL(b, ",\"request_in\":") < 0 ||
        put_optional(b, m.has_request, m.request_in) < 0 ||
        PUT_LITERAL(b, ",\"response_in\":") < 0 ||
        put_optional(b, m.has_response, m.response_in) < 0 ||
        PUT_LITERAL(b, ",\"latency_ms\":") < 0) {
        goto failed;
    }
    if (m.has_latency) {
        if ((written = put_milliseconds(b, m.latency_ns)) < 0) {
            goto failed;
        }
        if (!written) {
            goto undo;
        }
    }
    else if (PUT_LITERAL(b, "null") < 0) {
        goto failed;
    }
    if ((call->with_hex && (PUT_LITERAL(b, ",\"hex\":\"") < 0 || put_hex(b, m.f, m.length) < 0 ||
                            PUT_LITERAL(b, "\"") < 0)) ||
        PUT_LITERAL(b, "}") < 0 || put_bytes(b, call->terminator) < 0) {
        goto failed;
    }
    result = 1;
    goto done;
failed:
    result = -1;
undo:
    b->len = mark;
done:
    Py_DECREF(m.fragment);
    return result;
}

/* -- the text line ------------------------------------------------------------------------- */

#define EXACT_FIXED_NS 1000000000000000LL /* 1e15 ns: the double is within 0.2 ns of it */

/* s right-aligned in width */
static int put_aligned(Buf *b, const char *s, Py_ssize_t n, Py_ssize_t width)
{
    if (reserve(b, n + width) < 0) {
        return -1;
    }
    for (; n < width; width--) {
        b->p[b->len++] = ' ';
    }
    return put(b, s, n);
}

/* format(ns / divisor, f">{width}.{decimals}f") where divisor = 1000 * 10**decimals ns (both
 * callers round to whole µs): from the integer ns below 1e15, where the double nearest to
 * ns / divisor is within 0.2 ns of it, closer than any ns off a midpoint is to it; an exact
 * midpoint (or more) goes to glibc's "%.*f", which rounds the double correctly, half to even,
 * as Python's format does. */
static int put_fixed(Buf *b, int64_t ns, int decimals, double divisor, Py_ssize_t width)
{
    char text[64];
    Py_ssize_t n;
    uint64_t magnitude = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    uint64_t micros = magnitude / 1000, rest = magnitude % 1000;
    if (magnitude < (uint64_t)EXACT_FIXED_NS && rest != 500) {
        uint64_t scale = 1;
        for (int i = 0; i < decimals; i++) {
            scale *= 10;
        }
        micros += rest > 500;
        char *at = text;
        if (ns < 0) {
            *at++ = '-';
        }
        char whole[20];
        char *digits = u64_digits(whole + sizeof whole, micros / scale);
        memcpy(at, digits, (size_t)(whole + sizeof whole - digits));
        at += whole + sizeof whole - digits;
        *at++ = '.';
        uint64_t fraction = micros % scale;
        for (int i = decimals - 1; i >= 0; i--) {
            at[i] = (char)('0' + fraction % 10);
            fraction /= 10;
        }
        n = at + decimals - text;
    }
    else {
        n = snprintf(text, sizeof text, "%.*f", decimals, (double)ns / divisor);
        if (n < 0 || n >= (Py_ssize_t)sizeof text) {
            PyErr_SetString(PyExc_SystemError, "a formatted time does not fit");
            return -1;
        }
    }
    return put_aligned(b, text, n, width);
}

/* an int right-aligned in width */
static int put_i64_aligned(Buf *b, int64_t v, Py_ssize_t width)
{
    char digits[21];
    uint64_t magnitude = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char *at = u64_digits(digits + sizeof digits, magnitude);
    if (v < 0) {
        *--at = '-';
    }
    return put_aligned(b, at, digits + sizeof digits - at, width);
}

/* a str as UTF-8, as it is: 1 written, 0 not an exact str or not UTF-8 encodable, -1 on
 * error */
static int put_plain_str(Buf *b, PyObject *text)
{
    if (!PyUnicode_CheckExact(text)) {
        return 0;
    }
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(text, &n);
    if (s == NULL) {
        if (PyErr_ExceptionMatches(PyExc_MemoryError)) {
            return -1;
        }
        PyErr_Clear(); /* lone surrogates: str.encode() refuses them too */
        return 0;
    }
    return put(b, s, n) < 0 ? -1 : 1;
}

/* the mark of a severity: the marks' bytes for it (compared by identity), or NULL */
static PyObject *mark_of(PyObject *marks, PyObject *severity)
{
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(marks); i++) {
        PyObject *pair = PyTuple_GET_ITEM(marks, i);
        if (PyTuple_GET_ITEM(pair, 0) == severity) {
            return PyTuple_GET_ITEM(pair, 1);
        }
    }
    return NULL;
}

/* " [<mark><code>]" per problem, as record_of would annotate the Record: 1 written, 0 not
 * the common case, -1 on error */
static int put_marks(Buf *b, PyObject *problems, PyObject *texts, PyObject *marks)
{
    if (problems == NULL) {
        return 0;
    }
    if (problems == Py_None || (PyList_CheckExact(problems) && PyList_GET_SIZE(problems) == 0)) {
        return 1;
    }
    if (!PyList_CheckExact(problems) || texts == NULL ||
        !(texts == Py_None || (PyList_CheckExact(texts) && (PyList_GET_SIZE(texts) == 0 ||
                                                            PyList_GET_SIZE(texts) ==
                                                                PyList_GET_SIZE(problems))))) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(problems); i++) {
        PyObject *problem = PyList_GET_ITEM(problems, i);
        if (!PyTuple_CheckExact(problem) || PyTuple_GET_SIZE(problem) != 2) {
            return 0;
        }
        PyObject *mark = mark_of(marks, PyTuple_GET_ITEM(problem, 1));
        if (mark == NULL) {
            return 0;
        }
        int written;
        if (PUT_LITERAL(b, " [") < 0 || put_bytes(b, mark) < 0 ||
            (written = put_plain_str(b, PyTuple_GET_ITEM(problem, 0))) < 0) {
            return -1;
        }
        if (!written) {
            return 0;
        }
        if (PUT_LITERAL(b, "]") < 0) {
            return -1;
        }
    }
    return 1;
}

/* the summary as format_line shows it: prefixed with "<type>: " unless it starts with it */
static int put_shown_summary(Renderer *self, Buf *b, const Message *m)
{
    Py_ssize_t at = b->len;
    if (put_summary(b, m->which, m->f, &m->plate, 0) < 0) {
        return -1;
    }
    PyObject *name = PyTuple_GET_ITEM(self->names, m->which);
    Py_ssize_t n = PyBytes_GET_SIZE(name);
    if (b->len - at >= n && memcmp(b->p + at, PyBytes_AS_STRING(name), (size_t)n) == 0) {
        return 0;
    }
    if (reserve(b, n + 2) < 0) {
        return -1;
    }
    memmove(b->p + at + n + 2, b->p + at, (size_t)(b->len - at));
    memcpy(b->p + at, PyBytes_AS_STRING(name), (size_t)n);
    memcpy(b->p + at + n, ": ", 2);
    b->len += n + 2;
    return 0;
}

/* The item's text line (sniffer/output/text.py format_line, then "\n") into b: 1 written,
 * 0 not the common case (b as it was), -1 on error. The item is held by the caller. */
static int render_text(Renderer *self, PyObject *item, const Call *call, Buf *b)
{
    Message m;
    int result = read_message(self, item, call, &m);
    if (result <= 0) {
        return result;
    }
    result = 0;
    Py_ssize_t mark = b->len;
    if (put_i64_aligned(b, m.number, 6) < 0 || PUT_LITERAL(b, " ") < 0 ||
        put_fixed(b, m.delta, 6, 1e9, 11) < 0 || PUT_LITERAL(b, " ") < 0 ||
        put_bytes(b, m.fragment) < 0 || PUT_LITERAL(b, " ") < 0 ||
        put_shown_summary(self, b, &m) < 0) {
        goto failed;
    }
    if (m.has_request) {
        if (PUT_LITERAL(b, " [reply to #") < 0 || put_i64(b, m.request_in) < 0 ||
            (m.has_latency && (PUT_LITERAL(b, ", ") < 0 ||
                               put_fixed(b, m.latency_ns, 3, 1e6, 0) < 0 ||
                               PUT_LITERAL(b, " ms") < 0)) ||
            PUT_LITERAL(b, "]") < 0) {
            goto failed;
        }
    }
    if (m.has_response && (PUT_LITERAL(b, " [reply in #") < 0 ||
                           put_i64(b, m.response_in) < 0 || PUT_LITERAL(b, "]") < 0)) {
        goto failed;
    }
    int written = put_marks(b, slot_of(self, item, S_PROBLEMS), slot_of(self, item, S_TEXTS),
                            call->marks);
    if (written < 0) {
        goto failed;
    }
    if (!written) {
        goto undo;
    }
    if (PUT_LITERAL(b, "\n") < 0) {
        goto failed;
    }
    result = 1;
    goto done;
failed:
    result = -1;
undo:
    b->len = mark;
done:
    Py_DECREF(m.fragment);
    return result;
}

/* -- the loop ------------------------------------------------------------------------------ */

/* out: a bytearray, extended; or a list, which gets the bytes as one more bytes object (no
 * bytearray growing by 1/8 at a time, which copies everything it held about eight times) */
static int flush(Buf *b, PyObject *out)
{
    if (b->len == 0) {
        return 0;
    }
    if (PyList_Check(out)) {
        PyObject *chunk = PyBytes_FromStringAndSize(b->p, b->len);
        int failed = chunk == NULL || PyList_Append(out, chunk) < 0;
        Py_XDECREF(chunk);
        b->len = 0;
        return failed ? -1 : 0;
    }
    Py_ssize_t at = PyByteArray_GET_SIZE(out);
    if (b->len > PY_SSIZE_T_MAX - at) {
        PyErr_NoMemory();
        return -1;
    }
    if (PyByteArray_Resize(out, at + b->len) < 0) {
        return -1;
    }
    memcpy(PyByteArray_AS_STRING(out) + at, b->p, (size_t)b->len);
    b->len = 0;
    return 0;
}

typedef int (*RenderOne)(Renderer *, PyObject *, const Call *, Buf *);

/* items[index], items[index + 1], ... by one() into out while it renders them: the index of
 * the first it did not, or NULL on error. index and base_ns are the caller's arguments. */
static PyObject *render_items(Renderer *self, RenderOne one, PyObject *items, PyObject *index_arg,
                              PyObject *base_ns, Call *call, PyObject *out)
{
    if (!PyList_Check(items) || !PyLong_Check(index_arg) || !PyLong_Check(base_ns) ||
        !PyDict_Check(call->fragments) || !(PyByteArray_Check(out) || PyList_Check(out))) {
        PyErr_SetString(PyExc_TypeError, "items must be a list, index and base_ns ints, "
                                         "fragments a dict and out a bytearray or a list");
        return NULL;
    }
    Py_ssize_t index = PyLong_AsSsize_t(index_arg);
    if (index == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (index < 0) {
        PyErr_SetString(PyExc_ValueError, "index must not be negative");
        return NULL;
    }
    int overflow = 0;
    call->base_ns = (int64_t)PyLong_AsLongLongAndOverflow(base_ns, &overflow);
    if (overflow) {
        PyErr_SetString(PyExc_OverflowError, "base_ns must fit 64 bits");
        return NULL;
    }
    if (call->base_ns == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Buf b;
    b.p = b.inline_storage;
    b.len = 0;
    b.cap = INLINE_BUF;
    Py_INCREF(items);
    Py_INCREF(call->fragments);
    Py_XINCREF(call->separator);
    Py_XINCREF(call->terminator);
    Py_XINCREF(call->marks);
    int failed = 0;
    /* the list's size is read each time: a side's __hash__ may change it */
    while (index < PyList_GET_SIZE(items)) {
        PyObject *item = PyList_GET_ITEM(items, index);
        Py_INCREF(item);
        int rendered = one(self, item, call, &b);
        Py_DECREF(item);
        if (rendered < 0) {
            failed = 1;
            break;
        }
        if (!rendered) {
            break;
        }
        index++;
        if (b.len >= FLUSH_AT && flush(&b, out) < 0) {
            failed = 1;
            break;
        }
    }
    if (!failed && flush(&b, out) < 0) {
        failed = 1;
    }
    if (b.p != b.inline_storage) {
        PyMem_Free(b.p);
    }
    Py_DECREF(items);
    Py_DECREF(call->fragments);
    Py_XDECREF(call->separator);
    Py_XDECREF(call->terminator);
    Py_XDECREF(call->marks);
    return failed ? NULL : PyLong_FromSsize_t(index);
}

static int initialised(Renderer *self)
{
    if (self->lean_type == NULL) {
        PyErr_SetString(PyExc_TypeError, "Renderer was not initialised");
        return 0;
    }
    return 1;
}

static PyObject *Renderer_render(Renderer *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (!initialised(self)) {
        return NULL;
    }
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "render(items, index, base_ns, fragments, with_hex, "
                                         "separator, terminator, out) takes 8 arguments");
        return NULL;
    }
    Call call = {0, args[3], 0, args[5], args[6], NULL};
    if (!PyBytes_Check(call.separator) || !PyBytes_Check(call.terminator)) {
        PyErr_SetString(PyExc_TypeError, "render: separator and terminator must be bytes");
        return NULL;
    }
    call.with_hex = PyObject_IsTrue(args[4]);
    if (call.with_hex < 0) {
        return NULL;
    }
    return render_items(self, render_json, args[0], args[1], args[2], &call, args[7]);
}

/* marks: a tuple of (severity, bytes) pairs */
static int valid_marks(PyObject *marks)
{
    if (!PyTuple_CheckExact(marks)) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(marks); i++) {
        PyObject *pair = PyTuple_GET_ITEM(marks, i);
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2 ||
            !PyBytes_CheckExact(PyTuple_GET_ITEM(pair, 1))) {
            return 0;
        }
    }
    return 1;
}

static PyObject *Renderer_render_text(Renderer *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (!initialised(self)) {
        return NULL;
    }
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "render_text(items, index, base_ns, fragments, marks, "
                                         "out) takes 6 arguments");
        return NULL;
    }
    Call call = {0, args[3], 0, NULL, NULL, args[4]};
    if (!valid_marks(call.marks)) {
        PyErr_SetString(PyExc_TypeError,
                        "render_text: marks must be a tuple of (severity, bytes) pairs");
        return NULL;
    }
    return render_items(self, render_text, args[0], args[1], args[2], &call, args[5]);
}

/* -- construction ------------------------------------------------------------------------- */

static int Renderer_init(Renderer *self, PyObject *args, PyObject *kwargs)
{
    PyObject *lean_type, *head, *types, *labels, *names;
    static char *keywords[] = {"lean_type", "head", "types", "labels", "names", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!O!O!O!:Renderer", keywords, &PyType_Type,
                                     &lean_type, &PyBytes_Type, &head, &PyTuple_Type, &types,
                                     &PyTuple_Type, &labels, &PyTuple_Type, &names)) {
        return -1;
    }
    if (PyTuple_GET_SIZE(types) != N_TYPES || PyTuple_GET_SIZE(labels) != N_TYPES ||
        PyTuple_GET_SIZE(names) != N_TYPES) {
        PyErr_SetString(PyExc_TypeError, "types, labels and names: one per common message (5)");
        return -1;
    }
    long type_codes[N_TYPES];
    for (int i = 0; i < N_TYPES; i++) {
        PyObject *code = PyTuple_GET_ITEM(types, i);
        if (!PyLong_Check(code) || !PyBytes_CheckExact(PyTuple_GET_ITEM(labels, i)) ||
            !PyBytes_CheckExact(PyTuple_GET_ITEM(names, i))) {
            PyErr_SetString(PyExc_TypeError, "types are ints, labels and names bytes");
            return -1;
        }
        type_codes[i] = PyLong_AsLong(code);
        if (type_codes[i] == -1 && PyErr_Occurred()) {
            return -1;
        }
    }
    Py_ssize_t offsets[N_SLOTS];
    for (int i = 0; i < N_SLOTS; i++) {
        PyObject *descr = PyObject_GetAttrString(lean_type, slot_names[i]);
        if (descr == NULL) {
            PyErr_Clear();
        }
        int member = descr != NULL && Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
                     ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX;
        if (member) {
            offsets[i] = ((PyMemberDescrObject *)descr)->d_member->offset;
        }
        Py_XDECREF(descr);
        if (!member) {
            PyErr_Format(PyExc_TypeError, "the lean type needs a slot %s", slot_names[i]);
            return -1;
        }
    }
    memcpy(self->types, type_codes, sizeof type_codes);
    memcpy(self->slot, offsets, sizeof offsets);
    Py_INCREF(lean_type);
    Py_INCREF(head);
    Py_INCREF(labels);
    Py_INCREF(names);
    Py_XSETREF(self->lean_type, lean_type);
    Py_XSETREF(self->head, head);
    Py_XSETREF(self->labels, labels);
    Py_XSETREF(self->names, names);
    return 0;
}

static int Renderer_traverse(Renderer *self, visitproc visit, void *arg)
{
    Py_VISIT(self->lean_type);
    Py_VISIT(self->labels);
    Py_VISIT(self->names);
    return 0;
}

static int Renderer_clear(Renderer *self)
{
    Py_CLEAR(self->lean_type);
    Py_CLEAR(self->head);
    Py_CLEAR(self->labels);
    Py_CLEAR(self->names);
    return 0;
}

static void Renderer_dealloc(Renderer *self)
{
    PyObject_GC_UnTrack(self);
    Renderer_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Renderer_methods[] = {
    {"render", (PyCFunction)(void (*)(void))Renderer_render, METH_FASTCALL, NULL},
    {"render_text", (PyCFunction)(void (*)(void))Renderer_render_text, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RendererType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "dissectors._smartlpr_json.Renderer",
    .tp_basicsize = sizeof(Renderer),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "camshark/1 JSON of the common SmartLPR LeanRecords (see "
              "dissectors/smartlpr/lean_json.py).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Renderer_init,
    .tp_dealloc = (destructor)Renderer_dealloc,
    .tp_traverse = (traverseproc)Renderer_traverse,
    .tp_clear = (inquiry)Renderer_clear,
    .tp_methods = Renderer_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_smartlpr_json",
    "camshark/1 JSON of the common SmartLPR messages in C (see dissectors/smartlpr/lean_json.py).",
    -1, NULL,
};

PyMODINIT_FUNC PyInit__smartlpr_json(void)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 256; i++) {
        hex_pairs[2 * i] = digits[i >> 4];
        hex_pairs[2 * i + 1] = digits[i & 15];
    }
    for (int i = 0; i < 100; i++) {
        digit_pairs[2 * i] = (char)('0' + i / 10);
        digit_pairs[2 * i + 1] = (char)('0' + i % 10);
    }
    if (PyType_Ready(&RendererType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddType(m, &RendererType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
