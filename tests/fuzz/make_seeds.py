#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets below into tests/fuzz/corpus/NAME/
(each input format is described at the top of tests/fuzz/NAME_fuzz.cc). Each seed is a well-formed use, so
that mutations start near what a real guest, kernel file or user does.
Rerun after changing a format: python3 tests/fuzz/make_seeds.py"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, seeds):
    folder = os.path.join(HERE, 'corpus', target)
    os.makedirs(folder, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(folder, name), 'wb') as f:
            f.write(bytes(data))


# ---- uart: register operations and host bytes ----
RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR = range(8)


def ur(reg):
    return bytes([reg << 2])


def uw(reg, value):
    return bytes([reg << 2 | 1, value])


def urx(data):
    return bytes([(len(data) - 1) << 2 | 2]) + data


write('uart', {
    'fifo_rx': uw(IIR, 0x07) + uw(IER, 0x0f) + uw(MCR, 0x0b) + urx(b'hello, guest') + ur(IIR) + ur(LSR)
    + ur(RBR) * 4 + ur(IIR) + uw(RBR, 0x41) + ur(IIR) + ur(IIR),
    'overflow': uw(IIR, 0x01) + uw(IER, 0x01) + uw(MCR, 0x08) + urx(bytes(32)) * 3 + ur(IIR) + ur(LSR),
    'loopback': uw(MCR, 0x1b) + uw(IER, 0x0f) + uw(RBR, 0x61) + uw(RBR, 0x62) + ur(LSR) + ur(RBR)
    + ur(MSR) + ur(IIR) + uw(MCR, 0x0b) + ur(IIR) + ur(MSR),
    'divisor': uw(LCR, 0x83) + uw(RBR, 0x01) + uw(IER, 0x00) + ur(RBR) + ur(IER) + uw(LCR, 0x03)
    + uw(SCR, 0x5a) + ur(SCR),
    'no_fifo': uw(IER, 0x03) + uw(MCR, 0x08) + urx(b'ab') + ur(IIR) + ur(RBR) + ur(IIR) + bytes([3 | 4 << 2 | 16, 7]),
})

# ---- net_rx: chains, then packets ----


def chain(buffers):
    out = bytes([len(buffers)])
    for writable, gpa, length in buffers:
        out += bytes([1 if writable else 0]) + gpa.to_bytes(3, 'big') + length.to_bytes(3, 'big')
    return out


def net_rx(mergeable, chains, lengths, payload):
    out = bytes([1 if mergeable else 0, len(chains) - 1])
    for buffers in chains:
        out += chain(buffers)
    out += bytes([len(lengths) - 1])
    for length in lengths:
        out += length.to_bytes(3, 'big')
    return out + payload


FRAME = bytes(12) + bytes.fromhex('ffffffffffff525400123456' '0800') + bytes(range(64))
write('net_rx', {
    'one_frame': net_rx(False, [[(True, 0x1000, 2048)]], [len(FRAME)], FRAME),
    'several': net_rx(False, [[(True, 0x1000 + 0x800 * i, 0x800)] for i in range(4)], [90, 1526, 60, 300], FRAME),
    'split_chain': net_rx(False, [[(True, 0x1000, 12), (True, 0x2000, 100), (True, 0x3000, 0x10000)]],
                          [1600], FRAME),
    'mergeable': net_rx(True, [[(True, 0x1000 + 0x100 * i, 0x100)] for i in range(8)], [1000, 100], FRAME),
    'too_small': net_rx(False, [[(True, 0x1000, 40)], [(False, 0x2000, 64)]], [1000, 70], FRAME),
})
