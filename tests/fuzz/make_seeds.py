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

# ---- kernel_loader: control byte, then the kernel file ----
MIB = 1 << 20


def bzimage(setup_sects=1, header_sects=None, version=0x020f, loadflags=1, xloadflags=1, pref=0x200000, init_size=0x100000,
            payload=0x1000):
    file = bytearray((setup_sects + 1) * 512)
    struct.pack_into('<B', file, 0x1f1, setup_sects if header_sects is None else header_sects)
    struct.pack_into('<I', file, 0x1f4, payload // 16)          # syssize
    struct.pack_into('<H', file, 0x1fa, 0xffff)                 # vid_mode
    struct.pack_into('<H', file, 0x1fe, 0xaa55)                 # boot_flag
    struct.pack_into('<H', file, 0x200, 0xeb | 0x6a << 8)       # jump: header to 0x26c
    file[0x202:0x206] = b'HdrS'
    struct.pack_into('<H', file, 0x206, version)
    struct.pack_into('<B', file, 0x211, loadflags)
    struct.pack_into('<I', file, 0x22c, 0x7fffffff)             # initrd_addr_max
    struct.pack_into('<I', file, 0x230, 0x200000)               # kernel_alignment
    struct.pack_into('<B', file, 0x234, 1)                      # relocatable_kernel
    struct.pack_into('<H', file, 0x236, xloadflags)
    struct.pack_into('<I', file, 0x238, 255)                    # cmdline_size
    struct.pack_into('<Q', file, 0x258, pref)                   # pref_address
    struct.pack_into('<I', file, 0x260, init_size)
    return bytes(file) + bytes((i * 7 + 3) & 0xff for i in range(payload))


def pvh_elf(paddr=0x100000, entry=0x100010, code=0x200, note_size=4):
    ehdr_size, phdr_size = 64, 56
    note_offset = ehdr_size + 2 * phdr_size
    name = b'Xen\0'
    note = struct.pack('<III', 4, note_size, 18) + name + entry.to_bytes(note_size, 'little')
    code_offset = (note_offset + len(note) + 15) // 16 * 16
    ehdr = b'\x7fELF' + bytes([2, 1, 1, 0]) + bytes(8)
    ehdr += struct.pack('<HHIQQQIHHHHHH', 2, 62, 1, entry, ehdr_size, 0, 0, ehdr_size, phdr_size, 2, 64, 0, 0)
    load = struct.pack('<IIQQQQQQ', 1, 5, code_offset, paddr, paddr, code, code, 0x1000)
    note_phdr = struct.pack('<IIQQQQQQ', 4, 4, note_offset, 0, 0, len(note), len(note), 4)
    file = bytearray(ehdr + load + note_phdr + note)
    file += bytes(code_offset - len(file))
    return bytes(file) + bytes((i * 9) & 0xff for i in range(code))


write('kernel_loader', {
    'bzimage': bytes([2]) + bzimage(),
    'bzimage_initrd': bytes([2 | 4]) + bzimage(),
    # setup_sects 0 means 4 (boot.rst).
    'bzimage_setup0': bytes([3]) + bzimage(setup_sects=4, header_sects=0, init_size=0x400000),
    'bzimage_old': bytes([1]) + bzimage(version=0x0206),
    'pvh': bytes([0]) + pvh_elf(),
    'pvh_initrd_8byte_note': bytes([1 | 4]) + pvh_elf(note_size=8),
    'neither': bytes([0]) + b'MZ' + bytes(600),
})
