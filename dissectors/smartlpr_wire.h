/* SmartLPR on the wire, for the C kernels (_speedups.c, _smartlpr_pairing.c,
 * _smartlpr_json.c): the frame constants of dissectors/smartlpr/tables.py, the byte
 * helpers every kernel reads frames with, and the frame cutter (smartlpr_scan's). */
#ifndef CAMSHARK_SMARTLPR_WIRE_H
#define CAMSHARK_SMARTLPR_WIRE_H

#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "py_ints.h"

#define STX 0x02
#define ETX 0x03
#define LEN_HEADER 17 /* Stx, UnitId, Size, Type, Version, Id */
#define LEN_OVERHEAD 19 /* the header, Bcc and Etx */
#define MAX_QUALITY 100 /* codec.MAX_QUALITY: a character quality is a percentage */
#define MAX_IMAGE 65000 /* tables.MAX_IMAGE: the documented largest ImageSize */
#define IMAGE_HEAD 12   /* wire.IMAGE_HEAD: a GetPictureResponse's ROI and ImageSize */

static inline uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline uint32_t le16(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}

/* a GetPictureResponse body of size bytes that decode reports nothing about (codec.plain_image,
 * whose twin this is): its ImageSize that of the image that follows, not 0, at most
 * MAX_IMAGE, and the image a JPEG (FF D8 first) */
static inline int plain_picture(const unsigned char *body, Py_ssize_t size)
{
    if (size < IMAGE_HEAD + 2) {
        return 0;
    }
    uint32_t image_size = le32(body + 8);
    return image_size <= MAX_IMAGE && image_size == (uint64_t)(size - IMAGE_HEAD) &&
           body[IMAGE_HEAD] == 0xff && body[IMAGE_HEAD + 1] == 0xd8;
}

/* XOR of every byte (the Bcc), eight at a time */
static inline unsigned char xor_bytes(const unsigned char *data, Py_ssize_t length)
{
    uint64_t wide = 0;
    unsigned char folded = 0;
    Py_ssize_t i = 0;
    for (; i + 8 <= length; i += 8) {
        uint64_t word;
        memcpy(&word, data + i, 8);
        wide ^= word;
    }
    for (; i < length; i++) {
        folded ^= data[i];
    }
    wide ^= wide >> 32;
    wide ^= wide >> 16;
    wide ^= wide >> 8;
    return (unsigned char)(folded ^ (unsigned char)wide);
}

/* A frame's header as smartlpr_scan reports it: (offset, length, unit_id, size, type,
 * version, id, bcc_ok). Wide fields: take_run's callers may hand any ints of 64 bits. */
typedef struct {
    long long offset, length, unit, size, type, version, id;
    int bcc_ok;
} FrameHeader;

/* The frame at buf[pos] of one Size reading (length Size + extra), when it has an Stx, Type
 * and Version <= max_code, a length in [19, max_frame] that lies wholly in buf[:total], and
 * an Etx at its end: 1 with *h filled, else 0. */
static inline int frame_at(const unsigned char *buf, Py_ssize_t pos, Py_ssize_t total,
                           long long extra, long long max_frame, long long max_code,
                           FrameHeader *h)
{
    if (total - pos < LEN_HEADER || buf[pos] != STX) {
        return 0;
    }
    const unsigned char *head = buf + pos;
    uint32_t size = le32(head + 5);
    uint32_t type = le16(head + 9);
    uint32_t version = le16(head + 11);
    if ((long long)type > max_code || (long long)version > max_code) {
        return 0;
    }
    if (extra > (long long)(total - pos)) {
        return 0; /* no frame fits (and size + extra below cannot overflow) */
    }
    long long length = (long long)size + extra;
    if (length < LEN_OVERHEAD || length > max_frame || length > (long long)(total - pos)) {
        return 0;
    }
    if (head[length - 1] != ETX) {
        return 0;
    }
    h->offset = pos;
    h->length = length;
    h->unit = le32(head + 1);
    h->size = size;
    h->type = type;
    h->version = version;
    h->id = le32(head + 13);
    h->bcc_ok = xor_bytes(head, (Py_ssize_t)length - 2) == head[length - 2];
    return 1;
}

/* the header as a tuple, built item by item (about a third of what Py_BuildValue's format
   parsing costs per frame) */
static inline PyObject *header_tuple(const FrameHeader *h)
{
    PyObject *tuple = PyTuple_New(8);
    if (tuple == NULL) {
        return NULL;
    }
    PyObject *items[7] = {
        PyLong_FromLongLong(h->offset), PyLong_FromLongLong(h->length),
        PyLong_FromLongLong(h->unit),   PyLong_FromLongLong(h->size),
        PyLong_FromLongLong(h->type),   PyLong_FromLongLong(h->version),
        PyLong_FromLongLong(h->id),
    };
    for (int i = 0; i < 7; i++) {
        if (items[i] == NULL) {
            for (int j = 0; j < 7; j++) {
                Py_XDECREF(items[j]);
            }
            Py_DECREF(tuple);
            return NULL;
        }
    }
    for (int i = 0; i < 7; i++) {
        PyTuple_SET_ITEM(tuple, i, items[i]);
    }
    PyObject *verdict = h->bcc_ok ? Py_True : Py_False;
    Py_INCREF(verdict);
    PyTuple_SET_ITEM(tuple, 7, verdict);
    return tuple;
}

/* From buf[pos] on, append the header tuple of each consecutive frame of one Size reading
 * (frame_at) to headers; return where the last one ends (pos: none), or -1 with an
 * exception. */
static inline Py_ssize_t scan_frames(const unsigned char *buf, Py_ssize_t pos, Py_ssize_t total,
                                     long long extra, long long max_frame, long long max_code,
                                     PyObject *headers)
{
    FrameHeader h;
    while (frame_at(buf, pos, total, extra, max_frame, max_code, &h)) {
        PyObject *item = header_tuple(&h);
        if (item == NULL || PyList_Append(headers, item) < 0) {
            Py_XDECREF(item);
            return -1;
        }
        Py_DECREF(item);
        pos += (Py_ssize_t)h.length;
    }
    return pos;
}

#endif
