/* SmartLPR on the wire, for the C kernels (_speedups.c, _smartlpr_pairing.c,
 * _smartlpr_json.c): the frame constants of dissectors/smartlpr/tables.py and the byte
 * helpers every kernel reads frames with. */
#ifndef CAMSHARK_SMARTLPR_WIRE_H
#define CAMSHARK_SMARTLPR_WIRE_H

#include <Python.h>
#include <stdint.h>
#include <string.h>

#define STX 0x02
#define ETX 0x03
#define LEN_HEADER 17 /* Stx, UnitId, Size, Type, Version, Id */
#define LEN_OVERHEAD 19 /* the header, Bcc and Etx */
#define MAX_QUALITY 100 /* codec.MAX_QUALITY: a character quality is a percentage */

static inline uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline uint32_t le16(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
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

#endif
