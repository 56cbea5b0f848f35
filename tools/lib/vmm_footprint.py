#!/usr/bin/env python3
"""What a running VMM costs the host beyond its guest, read from /proc: the
sampling side of tools/bench-start.

  vmm_footprint.py sample PID GUEST_MIB [--top N]
  vmm_footprint.py qmp-start SOCKET PID

sample prints one line of KEY=VALUE words, in this order (bench-start reads
them):
  rss_kib          the process's Rss (/proc/PID/smaps_rollup)
  guest_rss_kib    the Rss of the guest RAM mapping(s)
  overhead_kib     rss_kib - guest_rss_kib: what the VMM itself holds
  cpu_ms           CPU time of every thread so far (/proc/PID/task/*/schedstat,
                   nanoseconds on CPU: finer than stat's 10 ms clock ticks)
  vcpu_cpu_ms      the part of it on vCPU threads (kvmm's vcpuN, QEMU's
                   "CPU N/KVM"), which includes the guest's own time
then, with --top N, the N largest contributors to overhead_kib, one a line.

qmp-start waits for a QEMU started with -S (paused) and -qmp unix:SOCKET to
answer a command, then prints cpu_ms= and vcpu_cpu_ms= as above: QEMU's CPU
time once it is built and ready to run its vCPUs. QMP commands are run by
QEMU's main loop, which starts only after the machine is built (the greeting
alone may come earlier, from the monitor's own thread). What is left before
its first KVM_RUN is the "cont" and loading the vCPUs' registers; what is
added is two small QMP exchanges. Python is in the exec-to-sample interval of
neither figure.

Guest RAM is found by size alone: the anonymous mappings (no path) whose
sizes add up to exactly GUEST_MIB, one mapping if one fits, else two (RAM
split below and above the 32-bit hole). Neither VMM names its RAM mapping, so
this is the one thing both have in common. It fails, saying so, rather than
guess, when nothing fits: e.g. when the kernel merged the RAM mapping with a
neighbouring one (both VMMs madvise their RAM, which keeps it apart), or
when the RAM is a file or memfd mapping (then it has a path).
"""
import os
import re
import socket
import sys
import time

KIB = 1024
# "7f1c2a000000-7f1c3a000000 rw-p 00000000 00:00 0     [path]"
_HEADER = re.compile(r"^([0-9a-f]+)-([0-9a-f]+)\s+(\S{4})\s+\S+\s+\S+\s+\d+\s*(.*)$")
_FIELD = re.compile(r"^(\w+):\s+(\d+) kB$")


class Mapping:
    def __init__(self, start, end, perms, path):
        self.start, self.end, self.perms, self.path = start, end, perms, path
        self.fields = {}  # kB values, e.g. "Rss": 1234

    @property
    def size_kib(self):
        return (self.end - self.start) // KIB

    @property
    def rss_kib(self):
        return self.fields.get("Rss", 0)

    @property
    def anonymous(self):
        # Anonymous memory has no path; the kernel names some ([heap], [stack],
        # [anon:NAME] for prctl-named ones): those are not guest RAM.
        return self.path == ""


def parse_smaps(text):
    """The mappings of /proc/PID/smaps, each with its kB fields."""
    mappings = []
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            start, end, perms, path = header.groups()
            mappings.append(Mapping(int(start, 16), int(end, 16), perms, path.strip()))
            continue
        field = _FIELD.match(line)
        if field and mappings:
            mappings[-1].fields[field.group(1)] = int(field.group(2))
    return mappings


def parse_rollup(text):
    """The kB fields of /proc/PID/smaps_rollup (or of one smaps entry)."""
    fields = {}
    for line in text.splitlines():
        field = _FIELD.match(line)
        if field:
            fields[field.group(1)] = int(field.group(2))
    return fields


def guest_ram(mappings, guest_mib):
    """The anonymous mapping(s) holding guest RAM: one of exactly guest_mib, else
    two that add up to it. Raises ValueError when none or several fit."""
    want = guest_mib * KIB
    anonymous = [m for m in mappings if m.anonymous and "w" in m.perms]
    single = [m for m in anonymous if m.size_kib == want]
    if len(single) == 1:
        return single
    if len(single) > 1:
        raise ValueError(f"{len(single)} anonymous mappings of {guest_mib} MiB: "
                         "cannot tell which one is guest RAM")
    pairs = [[a, b] for i, a in enumerate(anonymous) for b in anonymous[i + 1:]
             if a.size_kib + b.size_kib == want]
    if len(pairs) == 1:
        return pairs[0]
    largest = sorted((m.size_kib for m in anonymous), reverse=True)[:3]
    raise ValueError(f"no anonymous mapping(s) adding up to {guest_mib} MiB of guest RAM "
                     f"({len(pairs)} pairs fit; largest anonymous mappings: "
                     f"{', '.join(f'{k // KIB} MiB' for k in largest) or 'none'})")


def overhead(rollup_rss_kib, mappings, guest_mib):
    """(guest RAM Rss, VMM overhead Rss) in KiB."""
    guest = sum(m.rss_kib for m in guest_ram(mappings, guest_mib))
    return guest, rollup_rss_kib - guest


def _kind(mapping):
    if mapping.path.startswith("/"):
        return os.path.basename(mapping.path.split(" (deleted)")[0])
    return mapping.path or "anonymous"


def contributors(mappings, guest_mib, top):
    """The `top` largest Rss totals beyond guest RAM, by file name, [heap],
    [stack] or anonymous: [(what, kib, how many mappings)]."""
    guest = {id(m) for m in guest_ram(mappings, guest_mib)}
    totals = {}
    for m in mappings:
        if id(m) in guest:
            continue
        kib, count = totals.get(_kind(m), (0, 0))
        totals[_kind(m)] = (kib + m.rss_kib, count + 1)
    ranked = sorted(totals.items(), key=lambda item: -item[1][0])
    return [(what, kib, count) for what, (kib, count) in ranked[:top]]


def is_vcpu_thread(comm):
    """kvmm names its vCPU threads vcpu0, vcpu1, ...; QEMU "CPU 0/KVM"."""
    return re.fullmatch(r"vcpu\d+|CPU \d+/KVM", comm) is not None


def cpu_ns(threads):
    """(all threads, vCPU threads) nanoseconds on CPU, from [(comm, schedstat
    text)]: schedstat's first field is the thread's time on CPU in ns."""
    total = vcpu = 0
    for comm, schedstat in threads:
        ns = int(schedstat.split()[0])
        total += ns
        if is_vcpu_thread(comm.strip()):
            vcpu += ns
    return total, vcpu


def _read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def sample(pid, guest_mib, top):
    """Reads the process, CPU first (it moves; memory barely does)."""
    total_ns, vcpu_ns = cpu_ns(_threads(pid))
    mappings = parse_smaps(_read(f"/proc/{pid}/smaps"))
    rss = parse_rollup(_read(f"/proc/{pid}/smaps_rollup"))["Rss"]
    guest, over = overhead(rss, mappings, guest_mib)
    lines = [f"rss_kib={rss} guest_rss_kib={guest} overhead_kib={over} "
             f"cpu_ms={total_ns / 1e6:.3f} vcpu_cpu_ms={vcpu_ns / 1e6:.3f}"]
    for what, kib, count in contributors(mappings, guest_mib, top):
        lines.append(f"  {kib:8d} KiB  {what} ({count} mapping{'s' if count != 1 else ''})")
    return "\n".join(lines)


def _threads(pid):
    threads = []
    task_dir = f"/proc/{pid}/task"
    for tid in os.listdir(task_dir):
        try:
            threads.append((_read(f"{task_dir}/{tid}/comm"), _read(f"{task_dir}/{tid}/schedstat")))
        except FileNotFoundError:  # The thread ended meanwhile.
            pass
    return threads


def qmp_start(socket_path, pid, timeout_s=300):
    """QEMU's CPU time once its main loop answers over QMP (see the top)."""
    deadline = time.monotonic() + timeout_s
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(socket_path)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            if not os.path.exists(f"/proc/{pid}"):
                raise OSError(f"process {pid} ended before answering on {socket_path}")
            if time.monotonic() > deadline:
                raise OSError(f"no QMP socket at {socket_path} after {timeout_s} s")
            time.sleep(0.01)
    sock.settimeout(timeout_s)
    with sock, sock.makefile("rwb") as stream:
        stream.readline()  # The greeting.
        for command in (b'{"execute": "qmp_capabilities"}\n', b'{"execute": "query-status"}\n'):
            stream.write(command)
            stream.flush()
            while True:
                answer = stream.readline()
                if not answer:
                    raise OSError("QEMU closed its QMP socket")
                if b'"return"' in answer:  # Not an event.
                    break
                if b'"error"' in answer:
                    raise OSError(f"QMP answered {answer.decode(errors='replace').strip()}")
        total_ns, vcpu_ns = cpu_ns(_threads(pid))
    return f"cpu_ms={total_ns / 1e6:.3f} vcpu_cpu_ms={vcpu_ns / 1e6:.3f}"


def main(argv):
    args = argv[1:]
    try:
        if len(args) in (3, 5) and args[0] == "sample":
            top = int(args[4]) if len(args) == 5 and args[3] == "--top" else 0
            print(sample(int(args[1]), int(args[2]), top))
            return 0
        if len(args) == 3 and args[0] == "qmp-start":
            print(qmp_start(args[1], int(args[2])))
            return 0
    except (OSError, ValueError, KeyError) as e:
        print(f"vmm_footprint.py: {' '.join(args)}: {e}", file=sys.stderr)
        return 1
    print("usage: vmm_footprint.py sample PID GUEST_MIB [--top N]\n"
          "       vmm_footprint.py qmp-start SOCKET PID", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
