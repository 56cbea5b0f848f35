#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets below into tests/fuzz/corpus/NAME/
(each input format is described at the top of tests/fuzz/NAME_fuzz.cc). Each seed is a well-formed use, so
that mutations start near what a real guest, kernel file or user does.
Rerun after changing a format: python3 tests/fuzz/make_seeds.py"""
import gzip
import lzma
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
            payload=0x1000, compressed=None):
    """compressed: the kernel's payload (protocol 2.08), after a 0x40-byte head."""
    if compressed is not None:
        compressed += struct.pack('<I', 0)  # Where the build appends the decompressed size.
        payload = max(payload, 0x40 + len(compressed))
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
    body = bytearray((i * 7 + 3) & 0xff for i in range(payload))
    if compressed is not None:
        struct.pack_into('<II', file, 0x248, 0x40, len(compressed))  # payload_offset, _length
        body[0x40:0x40 + len(compressed)] = compressed
    return bytes(file) + bytes(body)


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


def multiboot_elf(paddr=0x200000, entry=0x200010, code=0x200, bss=0x1000, flags=0):
    ehdr_size, phdr_size = 52, 32
    code_offset = 0x60
    ehdr = b'\x7fELF' + bytes([1, 1, 1, 0]) + bytes(8)
    ehdr += struct.pack('<HHIIIIIHHHHHH', 2, 3, 1, entry, ehdr_size, 0, 0, ehdr_size, phdr_size, 1, 40, 0, 0)
    load = struct.pack('<IIIIIIII', 1, code_offset, paddr, paddr, code, code + bss, 7, 0x1000)
    file = bytearray(ehdr + load)
    file += bytes(code_offset - len(file))
    magic = 0x1badb002
    header = struct.pack('<III', magic, flags, (-(magic + flags)) & 0xffffffff)
    return bytes(file) + header + bytes((i * 9) & 0xff for i in range(code - len(header)))


write('kernel_loader', {
    'bzimage': bytes([2]) + bzimage(),
    'bzimage_initrd': bytes([2 | 4]) + bzimage(),
    # setup_sects 0 means 4 (boot.rst).
    'bzimage_setup0': bytes([3]) + bzimage(setup_sects=4, header_sects=0, init_size=0x400000),
    'bzimage_old': bytes([1]) + bzimage(version=0x0206),
    'pvh': bytes([0]) + pvh_elf(),
    'pvh_initrd_8byte_note': bytes([1 | 4]) + pvh_elf(note_size=8),
    'neither': bytes([0]) + b'MZ' + bytes(600),
    'multiboot': bytes([1]) + multiboot_elf(),
    'multiboot_module_low': bytes([0 | 4]) + multiboot_elf(paddr=0x8000, entry=0x8000, flags=3),
    # Shorter than the 64-bit entry offset: refused (a bug this target found).
    'bzimage_short_payload': bytes([2]) + bzimage(payload=0xe0, init_size=0x100),
    # Bit 3: unpacked on the host, to the PVH vmlinux inside.
    'bzimage_xz_pvh': bytes([2 | 8]) + bzimage(compressed=lzma.compress(pvh_elf(), check=lzma.CHECK_CRC32)),
    'bzimage_gzip_pvh': bytes([2 | 4 | 8]) + bzimage(compressed=gzip.compress(pvh_elf(), mtime=0)),
})

# ---- virtio_mmio: memory image, then register operations ----
STATUS, QUEUE_SEL, QUEUE_NUM, QUEUE_READY, QUEUE_NOTIFY = 0x70, 0x30, 0x38, 0x44, 0x50
DRIVER_FEATURES, DRIVER_FEATURES_SEL, INTERRUPT_STATUS, INTERRUPT_ACK = 0x20, 0x24, 0x60, 0x64
DESC_LOW, DRIVER_LOW, DEVICE_LOW = 0x80, 0x90, 0xa0
NEXT, WRITE = 1, 2
QSIZE, DESC, AVAIL, USED = 8, 0x0, 0x1000, 0x2000


def mmio_read(offset):
    return bytes([0, offset // 4])


def mmio_write(offset, value):
    return bytes([1, offset // 4]) + struct.pack('<I', value)


def mmio_wait():
    return bytes([3 | 4])


def mmio_config_read(offset, size_code):
    return bytes([2 | size_code << 2, offset])


def blk_memory(requests):
    """Rings of QSIZE at DESC/AVAIL/USED; each request (type, sector, data
    length, data pattern) as a header, data and status chain."""
    memory = bytearray(0x6000)
    desc = 0
    heads = []
    data_at = 0x3000
    for kind, sector, length, fill in requests:
        header = data_at
        struct.pack_into('<IIQ', memory, header, kind, 0, sector)
        data = header + 16
        memory[data:data + length] = bytes([fill]) * length
        status = data + length
        write_flag = WRITE if kind == 0 else 0
        struct.pack_into('<QIHH', memory, DESC + 16 * desc, header, 16, NEXT, desc + 1)
        struct.pack_into('<QIHH', memory, DESC + 16 * (desc + 1), data, length, NEXT | write_flag, desc + 2)
        struct.pack_into('<QIHH', memory, DESC + 16 * (desc + 2), status, 1, WRITE, 0)
        heads.append(desc)
        desc += 3
        data_at = (status + 1 + 15) // 16 * 16
    struct.pack_into('<HH', memory, AVAIL, 0, len(heads))
    for i, head in enumerate(heads):
        struct.pack_into('<H', memory, AVAIL + 4 + 2 * i, head)
    return bytes(memory)


def driver_init(queue_ready=True, desc=DESC, features_low=0):
    ops = mmio_write(STATUS, 0) + mmio_write(STATUS, 1) + mmio_write(STATUS, 3)
    ops += mmio_write(DRIVER_FEATURES_SEL, 1) + mmio_write(DRIVER_FEATURES, 1)
    ops += mmio_write(DRIVER_FEATURES_SEL, 0) + mmio_write(DRIVER_FEATURES, features_low)
    ops += mmio_write(STATUS, 0xb) + mmio_read(STATUS)
    ops += mmio_write(QUEUE_SEL, 0) + mmio_read(0x34) + mmio_write(QUEUE_NUM, QSIZE)
    ops += mmio_write(DESC_LOW, desc) + mmio_write(DRIVER_LOW, AVAIL) + mmio_write(DEVICE_LOW, USED)
    if queue_ready:
        ops += mmio_write(QUEUE_READY, 1)
    return ops + mmio_write(STATUS, 0xf)


def with_memory(memory, ops):
    return struct.pack('<H', len(memory)) + memory + ops


def complete():
    return mmio_write(QUEUE_NOTIFY, 0) + mmio_wait() * 5 + mmio_read(INTERRUPT_STATUS) + \
        mmio_write(INTERRUPT_ACK, 1)


write('virtio_mmio', {
    'identify': with_memory(b'', b''.join(mmio_read(o) for o in (0, 4, 8, 0xc, 0x10, 0x34, 0x70, 0xfc))
                            + mmio_config_read(0, 3) + mmio_config_read(0x14, 2)),
    'read_request': with_memory(blk_memory([(0, 0, 512, 0)]), driver_init() + complete()),
    'write_flush': with_memory(blk_memory([(1, 2, 1024, 0x5a), (4, 0, 0, 0)]), driver_init() + complete()
                               + mmio_write(STATUS, 0) + mmio_read(STATUS)),
    # Indirect descriptors and event index offered (bits 28, 29).
    'features': with_memory(blk_memory([(8, 0, 20, 0)]), driver_init(features_low=0x30000000) + complete()),
    # DRIVER_OK with the descriptor table outside RAM: DEVICE_NEEDS_RESET.
    'bad_ring': with_memory(b'', driver_init(desc=0xfff000) + mmio_read(STATUS) + mmio_write(STATUS, 0)),
    'wrong_sizes': with_memory(b'', bytes([3, 0x70, 3 | 8, 0x70, 3 | 0x18, 0x72, 3 | 0x20, 0x70, 1])),
})

# ---- cli: argument words separated by NUL bytes ----


def argv(*words):
    return '\0'.join(words).encode()


write('cli', {
    'run_linux': argv('run', '--kernel', 'vmlinuz', '--initrd', 'initrd.img', '--mem', '512M', '--cpus', '2',
                      '--cmdline', 'console=ttyS0 quiet'),
    'run_devices': argv('run', '--kernel', 'bzImage', '--disk', 'disk.img,ro,serial=abc', '--net', 'tap=tap0',
                        '--serial', 'socket', '--detach', '--name', 'vm1', '--seccomp=off'),
    'run_flat': argv('run', '--flat', 'guest.bin', '--mode', 'long', '--stats', '--timeout', '10'),
    'bench': argv('bench', 'exits', '--kind', 'pio', '--iterations', '1000', '--json'),
    'bench_sched': argv('bench', 'sched', '--cpus', '4', '--duration-ms', '100', '--ipi'),
    'manage': argv('stats', 'vm1', '--watch', '0.5', '--count', '3'),
    'info': argv('info', 'vm1', '--config'),
    'help': argv('run', '--help'),
    'completion': argv('--completion', 'bash'),
    'check': argv('check', '--linux', '--quiet'),
})
