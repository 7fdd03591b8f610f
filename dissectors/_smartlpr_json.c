/* camshark/1 JSON objects and text lines of the common SmartLPR messages, straight from their
 * LeanRecords; dissectors/smartlpr/lean_json.py builds the Renderer (None where this was not
 * built).
 *
 * Renderer(lean_type, head, types, labels, names).render(items, index, base_ns, fragments,
 * with_hex, separator, terminator, out) appends separator + object + terminator to out for
 * items[index], items[index + 1], ... while the item is exactly a lean_type, fragments holds
 * its side, and it is the common case: its frame one of ACK, Status, healthy StatusResponse,
 * Trigger, LicenseInfo v2 in its plain form, GetPicture and GetPictureResponse with its JPEG
 * (Etx, Size, Bcc good; decode reports nothing; texts in UTF-8 that JSON and repr() write as
 * they are), its ints within 64 bits, its times plain decimals, and its problems' texts free
 * of control characters. It returns the index of
 * the first item it did not render, having written nothing for it: the caller renders that
 * one through the Record path (codec.decode, record_to_dict, orjson), whose output this is
 * byte for byte (tests/dissectors/test_smartlpr_json.py). render_text(items, index, base_ns,
 * fragments, marks, out) does the same with the text line of sniffer/output/text.py
 * (format_line + "\n"), fragments then holding each side's "src → dst arrow protocol" and
 * marks the (severity, mark) pairs; a problem of another severity stops it. Both share the
 * reading of the message and its summary. Every decision about anything else is the Record
 * path's. Every byte read is bounded by the LeanRecord's data: any input is safe.
 *
 * Cost: each object is written into room reserved for its worst case, straight into the bytes
 * object that goes to out; what repeats from item to item within a call is made once and kept
 * in the call (Call): a side's fragment (for a side hashed by identity), the time members of
 * a time_ns, the fields' opener of a header, a problem's severity and code. The captures'
 * messages come several to a TCP segment, of a few sides and one time.
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


enum { T_ACK, T_STATUS, T_STATUS_RESPONSE, T_TRIGGER, T_LICENSE_INFO, T_GET_PICTURE,
       T_GET_PICTURE_RESPONSE, N_TYPES };
enum { S_NUMBER, S_SIDE, S_TIME, S_LENGTH, S_PROBLEMS, S_REQUEST_IN, S_RESPONSE_IN,
       S_LATENCY, S_DATA, S_OFFSET, S_STREAM_START, S_TEXTS, N_SLOTS };
static const char *slot_names[N_SLOTS] = {
    "number", "side", "time_ns", "length", "problems", "request_in", "response_in",
    "latency_ns", "data", "offset", "stream_start", "texts",
};

/* -- an output buffer that grows ---------------------------------------------------------- */

#define CHUNK_SIZE 32768
#define FLUSH_AT 16384

/* Objects are written straight into a bytes object (the chunk), which goes to out, cut to
 * what it holds, once it holds FLUSH_AT bytes: no copy when out is a list. An object that
 * stops half-way is simply cut off. The chunk grows (realloc) for an object larger than what
 * is left of it (very long texts). */
typedef struct {
    PyObject *chunk; /* a bytes object of cap bytes, its first len written; or NULL */
    char *p;
    Py_ssize_t len, cap;
} Buf;

static void forget_chunk(Buf *b)
{
    Py_CLEAR(b->chunk);
    b->p = NULL;
    b->len = b->cap = 0;
}

static int grow(Buf *b, Py_ssize_t extra)
{
    if (extra > PY_SSIZE_T_MAX / 2 - b->len) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t cap = b->len + extra > CHUNK_SIZE ? (b->len + extra) * 2 : CHUNK_SIZE;
    if (b->chunk == NULL) {
        b->chunk = PyBytes_FromStringAndSize(NULL, cap);
    }
    else {
        (void)_PyBytes_Resize(&b->chunk, cap); /* NULL when it fails */
    }
    if (b->chunk == NULL) {
        forget_chunk(b);
        return -1;
    }
    b->p = PyBytes_AS_STRING(b->chunk);
    b->cap = cap;
    return 0;
}

/* room for extra more bytes; -1 on MemoryError */
static inline __attribute__((always_inline)) int reserve(Buf *b, Py_ssize_t extra)
{
    return extra <= b->cap - b->len ? 0 : grow(b, extra);
}

/* -- writing into room reserved before: each writer returns where it ended --------------- */

static inline char *write_raw(char *at, const char *s, Py_ssize_t n)
{
    memcpy(at, s, (size_t)n);
    return at + n;
}

/* s must be a string literal (the "" around it refuse anything else) */
#define WRITE_LITERAL(at, s) write_raw((at), "" s "", (Py_ssize_t)(sizeof(s) - 1))

static inline char *write_bytes(char *at, PyObject *bytes)
{
    return write_raw(at, PyBytes_AS_STRING(bytes), PyBytes_GET_SIZE(bytes));
}

#define MAX_INT_TEXT 20 /* "-9223372036854775808", "18446744073709551615" */

static char digit_pairs[200]; /* "000102...99", filled at import */

static const uint64_t powers_of_ten[20] = {
    1ULL,
    10ULL,
    100ULL,
    1000ULL,
    10000ULL,
    100000ULL,
    1000000ULL,
    10000000ULL,
    100000000ULL,
    1000000000ULL,
    10000000000ULL,
    100000000000ULL,
    1000000000000ULL,
    10000000000000ULL,
    100000000000000ULL,
    1000000000000000ULL,
    10000000000000000ULL,
    100000000000000000ULL,
    1000000000000000000ULL,
    10000000000000000000ULL,
};

/* how many decimal digits v > 0 has: log10 from its bit length (1233 / 4096 ~ log10(2)),
 * then one more when it reaches the next power of ten */
static inline int digit_count(uint64_t v)
{
    int guess = ((64 - __builtin_clzll(v | 1)) * 1233) >> 12;
    return guess + (v >= powers_of_ten[guess]);
}

/* v in decimal, ending just before end: where it starts */
static inline char *u64_digits(char *end, uint64_t v)
{
    char *at = end;
    while (v >= 10000) { /* four digits a division */
        uint32_t four = (uint32_t)(v % 10000);
        v /= 10000;
        at -= 4;
        memcpy(at, digit_pairs + 2 * (four / 100), 2);
        memcpy(at + 2, digit_pairs + 2 * (four % 100), 2);
    }
    uint32_t rest = (uint32_t)v;
    if (rest >= 100) {
        at -= 2;
        memcpy(at, digit_pairs + 2 * (rest % 100), 2);
        rest /= 100;
    }
    if (rest >= 10) {
        at -= 2;
        memcpy(at, digit_pairs + 2 * rest, 2);
    }
    else {
        *--at = (char)('0' + rest);
    }
    return at;
}

static inline char *write_u64(char *at, uint64_t v)
{
    if (v < 100) { /* most fields: types, versions, unit ids, bcc */
        if (v < 10) {
            *at = (char)('0' + v);
            return at + 1;
        }
        memcpy(at, digit_pairs + 2 * v, 2);
        return at + 2;
    }
    char *end = at + digit_count(v);
    u64_digits(end, v);
    return end;
}

static inline char *write_i64(char *at, int64_t v)
{
    if (v < 0) {
        *at++ = '-';
        return write_u64(at, (uint64_t)0 - (uint64_t)v);
    }
    return write_u64(at, (uint64_t)v);
}

/* an int or null */
static inline char *write_optional(char *at, int present, int64_t v)
{
    return present ? write_i64(at, v) : WRITE_LITERAL(at, "null");
}

#define MAX_DOUBLE_TEXT 64 /* a plain repr(): below 1e16, at most 17 significant digits */

/* repr(x), which is also what orjson writes when it has no exponent; NULL when not plain (an
 * exponent, inf or nan) or on error (an exception set) */
static char *write_double(char *at, double x)
{
    char *text = PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (text == NULL) {
        return NULL;
    }
    size_t n = strlen(text);
    int plain = strpbrk(text, "en") == NULL && n <= MAX_DOUBLE_TEXT;
    at = plain ? write_raw(at, text, (Py_ssize_t)n) : NULL;
    PyMem_Free(text);
    return at;
}

#define MAX_DECIMAL_TEXT (1 + MAX_INT_TEXT + 1 + 18) /* sign, whole part, ".", decimals */

/* repr(v / 10.0**decimals) without a float (decimals <= 18, scale = 10**decimals); NULL when
 * repr would write an exponent (0 < |v| / 10**decimals < 1e-4).
 *
 * For |v| < 2**53 the double v / 10**decimals (both operands exact) is the double nearest to
 * the decimal D = v / 10**decimals. While the ulp there is below 10**-decimals (the callers'
 * bounds), D with its trailing zeros dropped is the shortest decimal that rounds to that
 * double: any other with as few places is at least 10**-decimals away, outside its rounding
 * interval. That is repr's text; from 1e-4 up (and below 1e16) repr writes it without an
 * exponent. The tests check every accepted value against orjson's text. */
static char *write_decimal(char *at, int64_t v, int decimals, uint64_t scale)
{
    uint64_t magnitude = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (magnitude == 0) {
        return WRITE_LITERAL(at, "0.0");
    }
    if (magnitude < scale / 10000) {
        return NULL;
    }
    if (v < 0) {
        *at++ = '-';
    }
    at = write_u64(at, magnitude / scale);
    *at++ = '.';
    uint64_t fraction = magnitude % scale;
    if (fraction == 0) {
        *at++ = '0';
        return at;
    }
    int n = decimals;
    while (fraction % 100 == 0) {
        fraction /= 100;
        n -= 2;
    }
    if (fraction % 10 == 0) {
        fraction /= 10;
        n--;
    }
    u64_digits(at + n, fraction); /* then the zeros it lacks in front */
    for (int i = n - digit_count(fraction) - 1; i >= 0; i--) {
        at[i] = '0';
    }
    return at + n;
}

#define NS_PER_S 1000000000ULL
#define NS_PER_MS 1000000ULL
#define EXACT_MS_NS (8589934592LL * 1000000LL) /* 2**33 ms: the ulp is below 1e-6 below it */

/* seconds(delta) of sniffer/output/json.py (|delta| < EXACT_SECONDS_NS: no rounding) */
static inline char *write_seconds(char *at, int64_t delta)
{
    return write_decimal(at, delta, 9, NS_PER_S);
}

/* latency_ns / 1e6; NULL as write_double */
static char *write_milliseconds(char *at, int64_t ns)
{
    if (ns > -EXACT_MS_NS && ns < EXACT_MS_NS) {
        return write_decimal(at, ns, 6, NS_PER_MS);
    }
    return write_double(at, (double)ns / 1e6);
}

/* n bytes as a JSON string body, escaping only " and \ (2 n bytes of room); NULL at a
 * control character (orjson would escape it otherwise) */
static char *write_escaped(char *at, const unsigned char *s, Py_ssize_t n)
{
    Py_ssize_t i = 0;
#ifdef __SSE2__
    /* 16 at a time while none of them needs a look */
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    const __m128i last_control = _mm_set1_epi8(0x1f);
    for (; i + 16 <= n; i += 16, at += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(s + i));
        __m128i special = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
            _mm_cmpeq_epi8(_mm_min_epu8(x, last_control), x));
        if (_mm_movemask_epi8(special)) {
            break;
        }
        _mm_storeu_si128((__m128i *)at, x);
    }
#endif
    for (; i < n; i++) {
        unsigned char c = s[i];
        if (c < 0x20) {
            return NULL;
        }
        if (c == '"' || c == '\\') {
            *at++ = '\\';
        }
        *at++ = (char)c;
    }
    return at;
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
    if (n > PY_SSIZE_T_MAX / 2 - 2) {
        PyErr_NoMemory();
        return -1;
    }
    if (reserve(b, 2 * n + 2) < 0) {
        return -1;
    }
    char *at = b->p + b->len;
    *at++ = '"';
    at = write_escaped(at, (const unsigned char *)s, n);
    if (at == NULL) {
        return 0;
    }
    *at++ = '"';
    b->len = at - b->p;
    return 1;
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

/* n bytes in lowercase hex (2 n bytes of room) */
static char *write_hex(char *at, const unsigned char *s, Py_ssize_t n)
{
    Py_ssize_t i = 0;
#ifdef __SSE2__
    for (; i + 16 <= n; i += 16) {
        hex16(at + 2 * i, s + i);
    }
    if (i < n && n >= 16) { /* the last 16 again, over digits already written alike */
        hex16(at + 2 * (n - 16), s + n - 16);
        return at + 2 * n;
    }
#endif
    for (; i < n; i++) {
        memcpy(at + 2 * i, hex_pairs + 2 * s[i], 2);
    }
    return at + 2 * n;
}

/* -- putting into the buffer, with room made as needed -------------------------------------- */

static inline int put(Buf *b, const char *s, Py_ssize_t n)
{
    if (reserve(b, n) < 0) {
        return -1;
    }
    b->len = write_raw(b->p + b->len, s, n) - b->p;
    return 0;
}

/* s must be a string literal (the "" around it refuse anything else) */
#define PUT_LITERAL(b, s) put((b), "" s "", (Py_ssize_t)(sizeof(s) - 1))

static inline int put_bytes(Buf *b, PyObject *bytes)
{
    return put(b, PyBytes_AS_STRING(bytes), PyBytes_GET_SIZE(bytes));
}

static int put_i64(Buf *b, int64_t v)
{
    if (reserve(b, MAX_INT_TEXT) < 0) {
        return -1;
    }
    b->len = write_i64(b->p + b->len, v) - b->p;
    return 0;
}

/* -- reading the LeanRecord --------------------------------------------------------------- */

/* an int's value through the C API: 1 (in *out) within 64 bits, else 0 */
static __attribute__((noinline)) int int64_of_any_size(PyObject *value, int64_t *out)
{
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow || (v == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    *out = (int64_t)v;
    return 1;
}

/* an exact int within 64 bits: 1 (in *out), else 0 */
static inline __attribute__((always_inline)) int int64_of(PyObject *value, int64_t *out)
{
    if (value == NULL || !PyLong_CheckExact(value)) {
        return 0;
    }
    return small_int64(value, out) || int64_of_any_size(value, out);
}

/* None (0) or an exact int within 64 bits (1, in *out); else -1 */
static inline __attribute__((always_inline)) int optional_int64_of(PyObject *value,
                                                                   int64_t *out)
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
static Py_ssize_t plain_utf8_length(const unsigned char *s, Py_ssize_t size, int plate,
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

#ifdef __SSE2__
/* Bit i set for each byte s[i] of a field of 16 <= size <= 64 bytes that is not zero
 * (*nonzero), and that plain_utf8_length would look at more closely or JSON would escape
 * (*special): below U+0020, beyond ASCII, " or \, and for a plate text ' or DEL. Read 16 bytes
 * at a time, the last 16 overlapping the ones before when size is not a multiple of 16. */
static inline void field_masks(const unsigned char *s, Py_ssize_t size, int plate,
                               uint64_t *nonzero, uint64_t *special)
{
    const __m128i zero = _mm_setzero_si128(), last_control = _mm_set1_epi8(0x1f);
    const __m128i high_bit = _mm_set1_epi8((char)0x80), quote = _mm_set1_epi8('\'');
    const __m128i double_quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    const __m128i delete = _mm_set1_epi8(0x7f);
    uint64_t zeros = 0, specials = 0;
    for (Py_ssize_t i = 0; i < size; i += 16) {
        Py_ssize_t at = i + 16 <= size ? i : size - 16;
        __m128i x = _mm_loadu_si128((const __m128i *)(s + at));
        __m128i odd = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, last_control), x),
                                   _mm_and_si128(x, high_bit));
        odd = _mm_or_si128(odd, _mm_or_si128(_mm_cmpeq_epi8(x, double_quote),
                                             _mm_cmpeq_epi8(x, backslash)));
        if (plate) {
            odd = _mm_or_si128(odd,
                               _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, delete)));
        }
        zeros |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, zero)) << at;
        specials |= (uint64_t)(unsigned)_mm_movemask_epi8(odd) << at;
    }
    uint64_t all = size == 64 ? ~(uint64_t)0 : ((uint64_t)1 << size) - 1;
    *nonzero = ~zeros & all;
    *special = specials & all;
}
#endif

/* plain_utf8_length, at once for a field of printable ASCII without " or \ (its bytes read
 * 16 at a time): then *verbatim is set (JSON writes the text as it is), else cleared */
static Py_ssize_t plain_text_length(const unsigned char *s, Py_ssize_t size, int plate,
                                   Py_ssize_t *characters, int *verbatim)
{
#ifdef __SSE2__
    uint64_t nonzero, special;
    field_masks(s, size, plate, &nonzero, &special);
    Py_ssize_t n = nonzero ? 64 - __builtin_clzll(nonzero) : 0;
    uint64_t text = n == 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
    if ((special & text) == 0) {
        *characters = n;
        *verbatim = 1;
        return n;
    }
#endif
    *verbatim = 0;
    return plain_utf8_length(s, size, plate, characters);
}

/* how many of the 40 qualities are up to the last non-zero one; -1 when one is above
 * MAX_QUALITY */
static Py_ssize_t quality_count(const unsigned char *q)
{
#ifdef __SSE2__
    const __m128i zero = _mm_setzero_si128(), most = _mm_set1_epi8(MAX_QUALITY);
    uint64_t zeros = 0;
    unsigned above = 0;
    static const int blocks[] = {0, 16, 24}; /* the last overlapping the one before */
    for (int i = 0; i < 3; i++) {
        int at = blocks[i];
        __m128i x = _mm_loadu_si128((const __m128i *)(q + at));
        __m128i at_most = _mm_cmpeq_epi8(_mm_max_epu8(x, most), most);
        above |= (unsigned)_mm_movemask_epi8(at_most) ^ 0xffff;
        zeros |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, zero)) << at;
    }
    uint64_t nonzero = ~zeros & (((uint64_t)1 << 40) - 1);
    if (above) {
        return -1;
    }
    return nonzero ? 64 - __builtin_clzll(nonzero) : 0;
#else
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < 40; i++) {
        if (q[i] > MAX_QUALITY) {
            return -1;
        }
        if (q[i]) {
            count = i + 1;
        }
    }
    return count;
#endif
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

#define MAX_TIME_PIECE 96 /* the JSON members or the text column (asserted where made) */
#define MAX_OPENER 128    /* ,"fields":{"stx":2,"unit_id":<10>,"size":<10>,... (likewise) */

#define OPENER_KEY 12 /* the header's UnitId, Size, Type and Version */

typedef struct {
    int known;
    unsigned char key[OPENER_KEY];
    Py_ssize_t length;
    char text[MAX_OPENER];
} Opener;

typedef struct {
    int64_t base_ns;
    PyObject *fragments;
    int with_hex;
    PyObject *separator, *terminator; /* JSON */
    PyObject *marks;                  /* text */
    /* what was written or looked up before, kept for the next items of this call: */
    PyObject *last_side, *last_fragment; /* held */
    /* the time members (JSON) or column (text) of the last time_ns written (items of one
     * segment share it) */
    int has_time_piece;
    int64_t time_piece_ns;
    Py_ssize_t time_piece_length; /* 0: that time is not plain */
    char time_piece[MAX_TIME_PIECE];
    /* JSON: {"severity":..,"code":..,"text": of the last problem written, by its objects */
    PyObject *problem_severity, *problem_code, *problem_head; /* held */
    /* JSON: ,"fields":{...,"id": by message type, of the last header written */
    Opener openers[N_TYPES];
} Call;

static void forget_known(Call *call)
{
    Py_CLEAR(call->last_side);
    Py_CLEAR(call->last_fragment);
    Py_CLEAR(call->problem_severity);
    Py_CLEAR(call->problem_code);
    Py_CLEAR(call->problem_head);
}

/* a LicenseInfo v2 body that decode reports nothing about, in its plain form */
typedef struct {
    Py_ssize_t chars, printable, country; /* lengths in bytes */
    Py_ssize_t characters;                /* detected characters */
    Py_ssize_t qualities;                 /* up to the last non-zero one */
    int verbatim;                         /* JSON writes the three texts as they are */
} Plate;

static int plain_license_info(const unsigned char *body, Plate *plate)
{
    if (le32(body + 8) == 0 || le32(body + 12) >= USEC_PER_S) {
        return 0;
    }
    plate->qualities = quality_count(body + 56);
    if (plate->qualities < 0) {
        return 0;
    }
    Py_ssize_t unused;
    int verbatim[3];
    plate->chars = plain_text_length(body + 16, 40, 1, &plate->characters, &verbatim[0]);
    plate->printable = plain_text_length(body + 97, 40, 1, &unused, &verbatim[1]);
    plate->country = plain_text_length(body + 137, 32, 0, &unused, &verbatim[2]);
    plate->verbatim = verbatim[0] && verbatim[1] && verbatim[2];
    return plate->chars > 0 && plate->printable >= 0 && plate->country >= 0;
}

/* how many qualities are shown: those of the detected characters */
static inline Py_ssize_t shown_qualities(const Plate *plate)
{
    return plate->characters < plate->qualities ? plate->characters : plate->qualities;
}

/* which common message the frame is (T_*), or -1; plate filled for a LicenseInfo */
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
    if (type == self->types[T_GET_PICTURE] && length == LEN_OVERHEAD + 4) {
        return T_GET_PICTURE;
    }
    if (type == self->types[T_GET_PICTURE_RESPONSE] &&
        plain_picture(f + LEN_HEADER, length - LEN_OVERHEAD)) {
        return T_GET_PICTURE_RESPONSE;
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

/* the qualities of count <= 40 detected characters: {"quality_1":..,"_value":"q q .."} or "" */
#define MAX_QUALITIES_TEXT                                                                  \
    (1 + 40 * sizeof "\"quality_40\":100," + sizeof "\"_value\":\"" + 40 * 4 + 2)

static char *write_qualities(char *at, const unsigned char *q, Py_ssize_t count)
{
    if (count == 0) {
        return WRITE_LITERAL(at, "\"\"");
    }
    *at++ = '{';
    for (Py_ssize_t i = 0; i < count; i++) {
        at = WRITE_LITERAL(at, "\"quality_");
        at += small_number(at, (unsigned)i + 1);
        *at++ = '"';
        *at++ = ':';
        at += small_number(at, q[i]);
        *at++ = ',';
    }
    at = WRITE_LITERAL(at, "\"_value\":\"");
    for (Py_ssize_t i = 0; i < count; i++) {
        if (i) {
            *at++ = ' ';
        }
        at += small_number(at, q[i]);
    }
    *at++ = '"';
    *at++ = '}';
    return at;
}

/* a text of the frame (plain_text_length let no control character through), JSON-escaped or
 * as it is */
static inline char *write_shown(char *at, const unsigned char *s, Py_ssize_t n, int escaped)
{
    return escaped ? write_escaped(at, s, n) : write_raw(at, (const char *)s, n);
}

/* the longest summary: a LicenseInfo's, its texts escaped */
#define MAX_SUMMARY                                                                         \
    (sizeof "LicenseInfo car 4294967295 plate '" + 2 * 40 + sizeof "' " + 2 * 32 +          \
     sizeof " q=100-100 trig -2147483648")

static char *write_license_info_summary(char *at, const unsigned char *body, const Plate *plate,
                                        int json)
{
    Py_ssize_t shown_at = plate->printable ? 97 : 16;
    Py_ssize_t shown = plate->printable ? plate->printable : plate->chars;
    at = WRITE_LITERAL(at, "LicenseInfo car ");
    at = write_u64(at, le32(body));
    at = WRITE_LITERAL(at, " plate '");
    int escaped = json && !plate->verbatim;
    at = write_shown(at, body + shown_at, shown, escaped);
    *at++ = '\'';
    if (plate->country) {
        *at++ = ' ';
        at = write_shown(at, body + 137, plate->country, escaped);
    }
    Py_ssize_t count = shown_qualities(plate);
    if (count == 0) {
        at = WRITE_LITERAL(at, " q=-");
    }
    else {
        unsigned low = 255, high = 0;
        for (Py_ssize_t i = 0; i < count; i++) {
            unsigned q = body[56 + i];
            low = q < low ? q : low;
            high = q > high ? q : high;
        }
        at = WRITE_LITERAL(at, " q=");
        at += small_number(at, low);
        if (low != high) {
            *at++ = '-';
            at += small_number(at, high);
        }
    }
    int32_t trigger = (int32_t)le32(body + 4);
    if (trigger == -1) {
        return WRITE_LITERAL(at, " trig hw");
    }
    at = WRITE_LITERAL(at, " trig ");
    return write_i64(at, trigger);
}

/* the Dissection's summary of the frame (MAX_SUMMARY bytes of room), its texts JSON-escaped
 * or not */
static char *write_summary(char *at, int which, const unsigned char *f, const Plate *plate,
                           int json)
{
    const unsigned char *body = f + LEN_HEADER;
    switch (which) {
    case T_ACK:
        at = WRITE_LITERAL(at, "ACK id=");
        return write_u64(at, le32(f + 13));
    case T_STATUS:
        return WRITE_LITERAL(at, "Status");
    case T_STATUS_RESPONSE:
        at = WRITE_LITERAL(at, "StatusResponse active io=");
        at = write_u64(at, body[1]);
        return WRITE_LITERAL(at, " camera ok");
    case T_TRIGGER:
        at = WRITE_LITERAL(at, "Trigger ");
        return write_i64(at, (int32_t)le32(body));
    case T_GET_PICTURE:
        at = WRITE_LITERAL(at, "GetPicture car ");
        return write_u64(at, le32(body));
    case T_GET_PICTURE_RESPONSE:
        at = WRITE_LITERAL(at, "GetPictureResponse JPEG ");
        at = write_u64(at, le32(body + 8));
        at = WRITE_LITERAL(at, " B roi t");
        at = write_u64(at, le16(body));
        at = WRITE_LITERAL(at, " l");
        at = write_u64(at, le16(body + 2));
        at = WRITE_LITERAL(at, " b");
        at = write_u64(at, le16(body + 4));
        at = WRITE_LITERAL(at, " r");
        return write_u64(at, le16(body + 6));
    default:
        return write_license_info_summary(at, body, plate, json);
    }
}

/* the longest "fields" object: a LicenseInfo's, its texts escaped */
#define MAX_FIELDS                                                                          \
    (sizeof ",\"fields\":{\"stx\":2,\"unit_id\":4294967295,\"size\":4294967295,\"type\":65535," \
            "\"version\":65535,\"id\":4294967295,\"car_id\":4294967295,"                      \
            "\"trigger_id\":-2147483648,\"timestamp\":4294967295,"                            \
            "\"timestamp_usec\":4294967295,\"plate\":\"\",\"qualities\":"                     \
            ",\"grammar_ok\":false,\"printable\":\"\",\"country\":\"\",\"bcc\":255,\"etx\":3}" + \
     2 * 40 + MAX_QUALITIES_TEXT + 2 * 40 + 2 * 32)

_Static_assert(sizeof ",\"fields\":{\"stx\":2,\"unit_id\":4294967295,\"size\":4294967295,"
                      "\"type\":65535,\"version\":65535,\"id\":" <= MAX_OPENER,
               "the fields' opener fits");
_Static_assert(sizeof "GetPictureResponse JPEG 4294967295 B roi t65535 l65535 b65535 r65535" <=
                   MAX_SUMMARY,
               "a picture's summary fits");
_Static_assert(sizeof ",\"fields\":{\"stx\":2,\"unit_id\":4294967295,\"size\":4294967295,"
                      "\"type\":65535,\"version\":65535,\"id\":4294967295,\"roi_top\":65535,"
                      "\"roi_left\":65535,\"roi_bottom\":65535,\"roi_right\":65535,"
                      "\"image_size\":4294967295,\"image\":4294967295,\"bcc\":255,\"etx\":3}" <=
                   MAX_FIELDS,
               "a picture's fields fit");

/* ,"fields":{"stx":2,...,"version":..,"id": of the frame, written once for the frames of its
 * type while their header up to the Id stays the same */
static const Opener *fields_opener(Call *call, int which, const unsigned char *f)
{
    Opener *opener = &call->openers[which];
    if (opener->known && memcmp(opener->key, f + 1, OPENER_KEY) == 0) {
        return opener;
    }
    opener->known = 1;
    memcpy(opener->key, f + 1, OPENER_KEY);
    char *at = WRITE_LITERAL(opener->text, ",\"fields\":{\"stx\":2,\"unit_id\":");
    at = write_u64(at, le32(f + 1));
    at = WRITE_LITERAL(at, ",\"size\":");
    at = write_u64(at, le32(f + 5));
    at = WRITE_LITERAL(at, ",\"type\":");
    at = write_u64(at, le16(f + 9));
    at = WRITE_LITERAL(at, ",\"version\":");
    at = write_u64(at, le16(f + 11));
    at = WRITE_LITERAL(at, ",\"id\":");
    opener->length = at - opener->text;
    return opener;
}

/* "summary":"...","length":...,"stream_offset":...,"fields":{...} of the frame (its label
 * written before) */
static char *write_message(char *at, int which, const unsigned char *f, Py_ssize_t length,
                           int64_t stream_offset, const Plate *plate, const Opener *opener)
{
    const unsigned char *body = f + LEN_HEADER;
    at = write_summary(at, which, f, plate, 1);
    at = WRITE_LITERAL(at, "\",\"length\":");
    at = write_u64(at, (uint64_t)length);
    at = WRITE_LITERAL(at, ",\"stream_offset\":");
    at = write_i64(at, stream_offset);
    at = write_raw(at, opener->text, opener->length);
    at = write_u64(at, le32(f + 13));
    switch (which) {
    case T_STATUS_RESPONSE:
        at = WRITE_LITERAL(at, ",\"active\":true,\"io\":");
        at = write_u64(at, body[1]);
        at = WRITE_LITERAL(at, ",\"camera_ok\":true");
        break;
    case T_TRIGGER:
        at = WRITE_LITERAL(at, ",\"trigger_id\":");
        at = write_i64(at, (int32_t)le32(body));
        break;
    case T_LICENSE_INFO:
        at = WRITE_LITERAL(at, ",\"car_id\":");
        at = write_u64(at, le32(body));
        at = WRITE_LITERAL(at, ",\"trigger_id\":");
        at = write_i64(at, (int32_t)le32(body + 4));
        at = WRITE_LITERAL(at, ",\"timestamp\":");
        at = write_u64(at, le32(body + 8));
        at = WRITE_LITERAL(at, ",\"timestamp_usec\":");
        at = write_u64(at, le32(body + 12));
        at = WRITE_LITERAL(at, ",\"plate\":\"");
        at = write_shown(at, body + 16, plate->chars, !plate->verbatim);
        at = WRITE_LITERAL(at, "\",\"qualities\":");
        at = write_qualities(at, body + 56, shown_qualities(plate));
        at = body[96] ? WRITE_LITERAL(at, ",\"grammar_ok\":true,\"printable\":\"")
                      : WRITE_LITERAL(at, ",\"grammar_ok\":false,\"printable\":\"");
        at = write_shown(at, body + 97, plate->printable, !plate->verbatim);
        at = WRITE_LITERAL(at, "\",\"country\":\"");
        at = write_shown(at, body + 137, plate->country, !plate->verbatim);
        *at++ = '"';
        break;
    case T_GET_PICTURE:
        at = WRITE_LITERAL(at, ",\"car_id\":");
        at = write_u64(at, le32(body));
        break;
    case T_GET_PICTURE_RESPONSE: /* "image": its length, which is ImageSize here */
        at = WRITE_LITERAL(at, ",\"roi_top\":");
        at = write_u64(at, le16(body));
        at = WRITE_LITERAL(at, ",\"roi_left\":");
        at = write_u64(at, le16(body + 2));
        at = WRITE_LITERAL(at, ",\"roi_bottom\":");
        at = write_u64(at, le16(body + 4));
        at = WRITE_LITERAL(at, ",\"roi_right\":");
        at = write_u64(at, le16(body + 6));
        at = WRITE_LITERAL(at, ",\"image_size\":");
        at = write_u64(at, le32(body + 8));
        at = WRITE_LITERAL(at, ",\"image\":");
        at = write_u64(at, le32(body + 8));
        break;
    default:
        break;
    }
    at = WRITE_LITERAL(at, ",\"bcc\":");
    at = write_u64(at, f[length - 2]);
    return WRITE_LITERAL(at, ",\"etx\":3}");
}

/* {"severity":..,"code":..,"text": of a problem: 1 written, 0 not the common case, -1 on
 * error. Kept for the next problem of these very objects (held: a str's text never changes). */
static int put_problem_head(Buf *b, Call *call, PyObject *severity, PyObject *code)
{
    if (severity == call->problem_severity && code == call->problem_code) {
        return put_bytes(b, call->problem_head) < 0 ? -1 : 1;
    }
    Py_ssize_t at = b->len;
    int written;
    if (PUT_LITERAL(b, "{\"severity\":") < 0 || (written = put_text(b, severity)) < 0) {
        return -1;
    }
    if (!written) {
        return 0;
    }
    if (PUT_LITERAL(b, ",\"code\":") < 0 || (written = put_text(b, code)) < 0) {
        return -1;
    }
    if (!written) {
        return 0;
    }
    if (PUT_LITERAL(b, ",\"text\":") < 0) {
        return -1;
    }
    PyObject *head = PyBytes_FromStringAndSize(b->p + at, b->len - at);
    if (head == NULL) {
        return -1;
    }
    Py_INCREF(severity);
    Py_INCREF(code);
    Py_XSETREF(call->problem_head, head);
    Py_XSETREF(call->problem_severity, severity);
    Py_XSETREF(call->problem_code, code);
    return 1;
}

/* ,"problems":[...]: 1 written, 0 not the common case, -1 on error */
static int put_problems(Buf *b, Call *call, PyObject *problems, PyObject *texts)
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
        if ((i && PUT_LITERAL(b, ",") < 0) ||
            (written = put_problem_head(b, call, PyTuple_GET_ITEM(problem, 1),
                                        PyTuple_GET_ITEM(problem, 0))) < 0) {
            return -1;
        }
        if (!written) {
            return 0;
        }
        if ((written = put_text(b, PyList_GET_ITEM(texts, i))) < 0) {
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
    Plate plate; /* a LicenseInfo's */
} Message;

/* the fragment of the side looked up last, when side is that very object and hashes by
 * identity: then its lookup ran no Python code (but for a key of the dict whose own __hash__
 * returns that very hash and whose __eq__ then changed the dict), so the dict is as it was
 * and gives the same; else NULL */
static inline PyObject *known_fragment(const Call *call, PyObject *side)
{
    return side == call->last_side ? call->last_fragment : NULL;
}

/* the side's fragment (bytes) from the dict, then known for the next item of that side when
 * it hashes by identity: borrowed, or NULL (an exception set on error, else none or not
 * bytes) */
static PyObject *looked_up_fragment(Call *call, PyObject *side)
{
    Py_INCREF(side);
    PyObject *fragment = PyDict_GetItemWithError(call->fragments, side);
    if (fragment == NULL || !PyBytes_CheckExact(fragment)) {
        Py_DECREF(side);
        if (PyErr_Occurred() && !PyErr_ExceptionMatches(PyExc_MemoryError)) {
            PyErr_Clear(); /* an unhashable side */
        }
        return NULL;
    }
    if (Py_TYPE(side)->tp_hash == PyBaseObject_Type.tp_hash) {
        Py_INCREF(fragment);
        Py_XSETREF(call->last_side, side); /* the reference taken above */
        Py_XSETREF(call->last_fragment, fragment);
    }
    else {
        Py_DECREF(side);
    }
    return fragment;
}

/* The item's fragment and message when it is a common one: 1, 0 not (nothing held), -1 on
 * error. The item is held by the caller. */
static int read_message(Renderer *self, PyObject *item, Call *call, Message *m)
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
    PyObject *fragment = known_fragment(call, side);
    if (fragment == NULL) {
        fragment = looked_up_fragment(call, side);
        if (fragment == NULL) {
            return PyErr_Occurred() ? -1 : 0;
        }
        /* the item's type again: that code may even have re-initialised this renderer */
        if (!Py_IS_TYPE(item, (PyTypeObject *)self->lean_type)) {
            return 0;
        }
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
    m->which = common_type(self, f, (Py_ssize_t)length, &m->plate);
    if (bcc != f[length - 2] || m->which < 0) {
        return 0;
    }
    m->f = f;
    Py_INCREF(fragment);
    m->fragment = fragment;
    return 1;
}

_Static_assert(sizeof ",\"time\":" + MAX_DECIMAL_TEXT + sizeof ",\"time_ns\":" + MAX_INT_TEXT + 1 <=
                   MAX_TIME_PIECE,
               "the JSON time members fit");

/* ,"time":<seconds>,"time_ns":<ns>, of the item's time, written once for the items of one
 * time: its length, 0 when that time is not plain (repr() would write an exponent) */
static Py_ssize_t time_piece(Call *call, int64_t time_ns, int64_t delta)
{
    if (call->has_time_piece && call->time_piece_ns == time_ns) {
        return call->time_piece_length;
    }
    call->has_time_piece = 1;
    call->time_piece_ns = time_ns;
    call->time_piece_length = 0;
    if (delta <= -EXACT_SECONDS_NS || delta >= EXACT_SECONDS_NS) {
        return 0;
    }
    char *at = WRITE_LITERAL(call->time_piece, ",\"time\":");
    at = write_seconds(at, delta);
    if (at == NULL) {
        return 0;
    }
    at = WRITE_LITERAL(at, ",\"time_ns\":");
    at = write_i64(at, time_ns);
    *at++ = ',';
    call->time_piece_length = at - call->time_piece;
    return call->time_piece_length;
}

/* The item's object into b: 1 written, 0 not the common case (b as it was), -1 on error.
 * The item is held by the caller. Room is made twice: for all up to the problems, then for
 * all after them. */
static int render_json(Renderer *self, PyObject *item, Call *call, Buf *b)
{
    Message m;
    int result = read_message(self, item, call, &m);
    if (result <= 0) {
        return result;
    }
    result = 0;
    Py_ssize_t mark = b->len;
    Py_ssize_t time_length = time_piece(call, m.time_ns, m.delta);
    if (time_length == 0) {
        goto done;
    }
    PyObject *label = PyTuple_GET_ITEM(self->labels, m.which);
    if (reserve(b, PyBytes_GET_SIZE(call->separator) + PyBytes_GET_SIZE(self->head) +
                       MAX_INT_TEXT + MAX_TIME_PIECE + PyBytes_GET_SIZE(m.fragment) +
                       PyBytes_GET_SIZE(label) + MAX_SUMMARY + sizeof "\",\"length\":" +
                       MAX_INT_TEXT + sizeof ",\"stream_offset\":" + MAX_INT_TEXT +
                       MAX_FIELDS) < 0) {
        goto failed;
    }
    char *at = b->p + b->len;
    at = write_bytes(at, call->separator);
    at = write_bytes(at, self->head);
    at = write_i64(at, m.number);
    at = write_raw(at, call->time_piece, time_length);
    at = write_bytes(at, m.fragment);
    at = write_bytes(at, label);
    at = write_message(at, m.which, m.f, (Py_ssize_t)m.length, m.stream_offset, &m.plate,
                       fields_opener(call, m.which, m.f));
    b->len = at - b->p;
    int written =
        put_problems(b, call, slot_of(self, item, S_PROBLEMS), slot_of(self, item, S_TEXTS));
    if (written < 0) {
        goto failed;
    }
    if (!written) {
        goto undo;
    }
    Py_ssize_t hex_length = call->with_hex ? 2 * (Py_ssize_t)m.length : 0;
    if (reserve(b, sizeof ",\"request_in\":" + MAX_INT_TEXT + sizeof ",\"response_in\":" +
                       MAX_INT_TEXT + sizeof ",\"latency_ms\":" + MAX_DOUBLE_TEXT +
                       sizeof ",\"hex\":\"\"}" + hex_length +
                       PyBytes_GET_SIZE(call->terminator)) < 0) {
        goto failed;
    }
    at = b->p + b->len;
    at = WRITE_LITERAL(at, ",\"request_in\":");
    at = write_optional(at, m.has_request, m.request_in);
    at = WRITE_LITERAL(at, ",\"response_in\":");
    at = write_optional(at, m.has_response, m.response_in);
    at = WRITE_LITERAL(at, ",\"latency_ms\":");
    if (m.has_latency) {
        at = write_milliseconds(at, m.latency_ns);
        if (at == NULL) {
            if (PyErr_Occurred()) {
                goto failed;
            }
            goto undo;
        }
    }
    else {
        at = WRITE_LITERAL(at, "null");
    }
    if (call->with_hex) {
        at = WRITE_LITERAL(at, ",\"hex\":\"");
        at = write_hex(at, m.f, (Py_ssize_t)m.length);
        *at++ = '"';
    }
    *at++ = '}';
    at = write_bytes(at, call->terminator);
    b->len = at - b->p;
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

/* format(ns / divisor, f".{decimals}f") into text (MAX_FIXED_TEXT bytes): its length, -1 on
 * error (put_fixed pads it to a width). divisor = 1000 * 10**decimals ns (both callers round
 * to whole µs): from the integer ns below 1e15, where the double nearest to
 * ns / divisor is within 0.2 ns of it, closer than any ns off a midpoint is to it; an exact
 * midpoint (or more) goes to glibc's "%.*f", which rounds the double correctly, half to even,
 * as Python's format does. */
#define MAX_FIXED_TEXT 64

static Py_ssize_t fixed_text(char *text, int64_t ns, int decimals, double divisor)
{
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
        n = snprintf(text, MAX_FIXED_TEXT, "%.*f", decimals, (double)ns / divisor);
        if (n < 0 || n >= MAX_FIXED_TEXT) {
            PyErr_SetString(PyExc_SystemError, "a formatted time does not fit");
            return -1;
        }
    }
    return n;
}

static int put_fixed(Buf *b, int64_t ns, int decimals, double divisor, Py_ssize_t width)
{
    char text[MAX_FIXED_TEXT];
    Py_ssize_t n = fixed_text(text, ns, decimals, divisor);
    return n < 0 ? -1 : put_aligned(b, text, n, width);
}

#define TIME_WIDTH 11 /* format_line's f"{seconds:11.6f}" */

_Static_assert(TIME_WIDTH + MAX_FIXED_TEXT + 1 <= MAX_TIME_PIECE, "the time column fits");

/* a line's time column and the space after it, written once for the items of one time: its
 * length, -1 on error */
static Py_ssize_t text_time_piece(Call *call, int64_t time_ns, int64_t delta)
{
    if (call->has_time_piece && call->time_piece_ns == time_ns) {
        return call->time_piece_length;
    }
    char text[MAX_FIXED_TEXT];
    Py_ssize_t n = fixed_text(text, delta, 6, 1e9);
    if (n < 0) {
        return -1;
    }
    char *at = call->time_piece;
    for (Py_ssize_t pad = TIME_WIDTH - n; pad > 0; pad--) {
        *at++ = ' ';
    }
    at = write_raw(at, text, n);
    *at++ = ' ';
    call->has_time_piece = 1;
    call->time_piece_ns = time_ns;
    call->time_piece_length = at - call->time_piece;
    return call->time_piece_length;
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
    if (reserve(b, MAX_SUMMARY) < 0) {
        return -1;
    }
    Py_ssize_t at = b->len;
    b->len = write_summary(b->p + at, m->which, m->f, &m->plate, 0) - b->p;
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
static int render_text(Renderer *self, PyObject *item, Call *call, Buf *b)
{
    Message m;
    int result = read_message(self, item, call, &m);
    if (result <= 0) {
        return result;
    }
    result = 0;
    Py_ssize_t mark = b->len, time_length;
    if (put_i64_aligned(b, m.number, 6) < 0 || PUT_LITERAL(b, " ") < 0 ||
        (time_length = text_time_piece(call, m.time_ns, m.delta)) < 0 ||
        put(b, call->time_piece, time_length) < 0 ||
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

/* out: a bytearray, extended; or a list, which gets the chunk itself, cut to what it holds
 * (no bytearray growing by 1/8 at a time, which copies everything it held about eight times) */
static int flush(Buf *b, PyObject *out)
{
    if (b->len == 0) {
        return 0;
    }
    if (PyList_Check(out)) {
        int failed = _PyBytes_Resize(&b->chunk, b->len) < 0 || PyList_Append(out, b->chunk) < 0;
        forget_chunk(b);
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

typedef int (*RenderOne)(Renderer *, PyObject *, Call *, Buf *);

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
    Buf b = {NULL, NULL, 0, 0};
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
    forget_chunk(&b);
    forget_known(call);
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
    Call call = {.fragments = args[3], .separator = args[5], .terminator = args[6]};
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
    Call call = {.fragments = args[3], .marks = args[4]};
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
        PyErr_SetString(PyExc_TypeError, "types, labels and names: one per common message (7)");
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
