#!/usr/bin/env python3
"""Writes the seed inputs in tests/fuzz/corpus/virtqueue/ (format: see
virtqueue_fuzz.cc). Each seed is a well-formed queue of 8 entries, desc table
at 0x0, available ring at 0x100, used ring at 0x200, data from 0x1000, with
one interesting chain or ring shape, so that mutations start near real use.
Rerun after changing the input format: python3 tests/fuzz/make_virtqueue_seeds.py"""
import os
import struct

NEXT, WRITE, INDIRECT = 1, 2, 4
DESC, AVAIL, USED, SIZE = 0x0, 0x100, 0x200, 8


def seed(descs, heads, features=0, avail_idx=None, used_event=0, tables=(), size_code=3):
    memory = bytearray(0x1100)
    for i, (addr, length, flags, nxt) in enumerate(descs):
        struct.pack_into('<QIHH', memory, DESC + 16 * i, addr, length, flags, nxt)
    for at, entries in tables:
        for i, (addr, length, flags, nxt) in enumerate(entries):
            struct.pack_into('<QIHH', memory, at + 16 * i, addr, length, flags, nxt)
    idx = len(heads) if avail_idx is None else avail_idx
    struct.pack_into('<HH', memory, AVAIL, 0, idx)
    for i, head in enumerate(heads):
        struct.pack_into('<H', memory, AVAIL + 4 + 2 * i, head)
    struct.pack_into('<H', memory, AVAIL + 4 + 2 * SIZE, used_event)
    header = struct.pack('<BBHHH', size_code, features, DESC, AVAIL, USED)
    return header + bytes(memory)


seeds = {
    # A block-like request: header, data, status; then a one-buffer chain.
    'direct': seed([(0x1000, 16, NEXT, 1), (0x1010, 512, NEXT | WRITE, 2), (0x1210, 1, WRITE, 0),
                    (0x1300, 64, 0, 0)], [0, 3], features=4),
    # One indirect descriptor, and direct descriptors ending in one.
    'indirect': seed([(0x800, 48, INDIRECT, 0), (0x1000, 8, NEXT, 2), (0x880, 16, INDIRECT, 0)], [0, 1],
                     features=1 | 4,
                     tables=[(0x800, [(0x1000, 16, NEXT, 1), (0x1010, 32, NEXT | WRITE, 2), (0x1030, 1, WRITE, 0)]),
                             (0x880, [(0x1040, 4, WRITE, 0)])]),
    # EVENT_IDX with a used_event in the middle of the batch.
    'event_idx': seed([(0x1000, 8, 0, 0), (0x1008, 8, WRITE, 0), (0x1010, 8, 0, 0), (0x1018, 8, 0, 0)],
                      [0, 1, 2, 3], features=2 | 8, used_event=1),
    # Malformed chains: a loop, a buffer in the gap, readable after writable.
    'bad_chains': seed([(0x1000, 8, NEXT, 0), (0x10000, 8, 0, 0), (0x1000, 8, NEXT | WRITE, 3), (0x1000, 8, 0, 0)],
                       [0, 1, 2]),
    # A buffer in the second RAM region, and one straddling its end.
    'high_ram': seed([(0x20000, 0x100, WRITE, 0), (0x20ff0, 0x20, 0, 0)], [0, 1], features=4),
    # The available index far ahead of the device: the queue breaks.
    'avail_ahead': seed([(0x1000, 8, 0, 0)], [0], avail_idx=40),
    # The largest queue the harness allows (256 entries), its rings overlapping
    # the descriptor table: nothing stops a guest doing that.
    'large_queue': seed([(0x1000, 8, 0, 0)], [0], size_code=8),
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'virtqueue')
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
print(f'wrote {len(seeds)} seeds to {out}')
