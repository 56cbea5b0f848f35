#!/usr/bin/env python3
"""Distinct 4 KiB pages touched per exit, from a valgrind lackey memory trace
of exit_dispatch_bench --mark: the footprint side of tools/bench-dispatch.

  exit_pages.py --marker ADDRESS [--skip K] TRACE

TRACE is lackey's --trace-mem=yes log: "I  ADDR,SIZE" for each instruction
fetched, " L|S|M ADDR,SIZE" for each data load, store or modify (hex
addresses); other lines (valgrind's "==PID==" ones) are ignored. A store to
the marker page (ADDRESS, printed by the bench) starts an exit: the accesses
from one marker store to the next are one exit, everything before the first
and after the last is start-up and teardown, left out. The marker page itself
is not counted. The first K exits (default 10) are left out too: they run
lazy symbol binding and first-touch paths that the steady state does not.

Prints one line, "CODE DATA ALL EXITS": the median over the exits counted of
the distinct pages fetched from, read or written, both together (the union),
and how many exits that median is of. An access that straddles a page
boundary counts both pages.
"""
import argparse
import re
import statistics
import sys

PAGE_SHIFT = 12
_ACCESS = re.compile(r"^(I| [LSM]) +([0-9a-fA-F]+),(\d+)\s*$")


def pages(address, size):
    """The page numbers an access of SIZE bytes at ADDRESS touches."""
    first = address >> PAGE_SHIFT
    last = (address + max(size, 1) - 1) >> PAGE_SHIFT
    return range(first, last + 1)


def exit_footprints(lines, marker):
    """(code, data, all) distinct page counts of each complete exit in lines."""
    marker_page = marker >> PAGE_SHIFT
    code, data = None, None  # None until the first marker
    for line in lines:
        access = _ACCESS.match(line)
        if not access:
            continue
        kind = access.group(1).strip()
        address, size = int(access.group(2), 16), int(access.group(3))
        touched = pages(address, size)
        if kind != "I" and marker_page in touched:
            if kind in ("S", "M"):
                if code is not None:
                    yield len(code), len(data), len(code | data)
                code, data = set(), set()
            continue
        if code is None:
            continue
        (code if kind == "I" else data).update(touched)


def summarize(footprints, skip):
    """Medians of (code, data, all) over footprints after the first skip, and
    their count; None when no exit is left."""
    counted = list(footprints)[skip:]
    if not counted:
        return None
    return tuple(statistics.median(column) for column in zip(*counted)) + (len(counted),)


def number(value):
    return f"{value:g}" if isinstance(value, float) else str(value)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--marker", required=True, type=lambda text: int(text, 16))
    parser.add_argument("--skip", type=int, default=10)
    parser.add_argument("trace")
    args = parser.parse_args(argv)
    with open(args.trace, encoding="ascii", errors="replace") as trace:
        summary = summarize(exit_footprints(trace, args.marker), args.skip)
    if summary is None:
        print(f"exit_pages.py: {args.trace} has no exit after the first {args.skip} "
              f"between stores to marker {args.marker:#x}; run the bench with --mark "
              f"and more exits", file=sys.stderr)
        return 1
    print(" ".join(number(value) for value in summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
