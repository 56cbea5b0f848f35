#!/usr/bin/env python3
"""tools/lib/vmm_footprint.py on canned /proc text: smaps and smaps_rollup
parsing, finding guest RAM by size, the overhead left, CPU time by thread."""

import os
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools", "lib"))
import vmm_footprint as vf  # noqa: E402


def entry(start, size_kib, perms, path, rss_kib, extra=""):
    """One smaps entry, shaped like the kernel's."""
    end = start + size_kib * 1024
    tail = f"{path}" if path else ""
    return (f"{start:x}-{end:x} {perms} 00000000 00:00 0                          {tail}\n"
            f"Size:           {size_kib:8d} kB\n"
            f"KernelPageSize:        4 kB\n"
            f"Rss:            {rss_kib:8d} kB\n"
            f"Pss:            {rss_kib:8d} kB\n"
            f"{extra}"
            f"VmFlags: rd wr mr mw me ac sd\n")


# A kvmm-like process: its binary, libc, a heap, a thread stack, 256 MiB of
# guest RAM of which 40 MiB touched.
KVMM_SMAPS = (entry(0x555555554000, 2048, "r-xp", "/work/build/kvmm", 1800)
              + entry(0x555555d54000, 1024, "rw-p", "[heap]", 900)
              + entry(0x7f0000000000, 262144, "rw-p", "", 40960,
                      "AnonHugePages:     40960 kB\n")
              + entry(0x7f1000000000, 8192, "rw-p", "", 24)
              + entry(0x7f2000000000, 1600, "r-xp", "/usr/lib/x86_64-linux-gnu/libc.so.6", 1200)
              + entry(0x7ffff7000000, 132, "rw-p", "[stack]", 20))
KVMM_ROLLUP = ("55d0c0000000-7ffd8f5ff000 ---p 00000000 00:00 0   [rollup]\n"
               "Rss:               44904 kB\nPss:               44000 kB\n"
               "Anonymous:         41904 kB\n")


class ParseTest(unittest.TestCase):
    def test_smaps_entries_and_fields(self):
        maps = vf.parse_smaps(KVMM_SMAPS)
        self.assertEqual(len(maps), 6)
        self.assertEqual(maps[0].path, "/work/build/kvmm")
        self.assertEqual(maps[0].perms, "r-xp")
        self.assertEqual(maps[2].size_kib, 262144)
        self.assertEqual(maps[2].rss_kib, 40960)
        self.assertEqual(maps[2].fields["AnonHugePages"], 40960)
        self.assertTrue(maps[2].anonymous)
        self.assertFalse(maps[1].anonymous)  # [heap] is named.

    def test_rollup_fields(self):
        rollup = vf.parse_rollup(KVMM_ROLLUP)
        self.assertEqual(rollup["Rss"], 44904)
        self.assertEqual(rollup["Anonymous"], 41904)
        self.assertNotIn("VmFlags", rollup)

    def test_a_path_with_spaces_and_deleted(self):
        maps = vf.parse_smaps(entry(0x1000, 4, "rw-s", "/memfd:guest ram (deleted)", 4))
        self.assertEqual(maps[0].path, "/memfd:guest ram (deleted)")
        self.assertFalse(maps[0].anonymous)


class GuestRamTest(unittest.TestCase):
    def test_one_mapping_of_the_guest_size(self):
        maps = vf.parse_smaps(KVMM_SMAPS)
        self.assertEqual([m.start for m in vf.guest_ram(maps, 256)], [0x7f0000000000])
        guest, over = vf.overhead(vf.parse_rollup(KVMM_ROLLUP)["Rss"], maps, 256)
        self.assertEqual(guest, 40960)
        self.assertEqual(over, 44904 - 40960)

    def test_ram_split_below_and_above_4_gib(self):
        text = (entry(0x7f0000000000, 3 * 1024 * 1024, "rw-p", "", 100)
                + entry(0x7f1000000000, 1024 * 1024, "rw-p", "", 50)
                + entry(0x7f2000000000, 8192, "rw-p", "", 8))
        ram = vf.guest_ram(vf.parse_smaps(text), 4096)
        self.assertEqual(sorted(m.size_kib for m in ram), [1024 * 1024, 3 * 1024 * 1024])
        self.assertEqual(vf.overhead(200, vf.parse_smaps(text), 4096), (150, 50))

    def test_read_only_or_named_mappings_are_not_ram(self):
        text = (entry(0x7f0000000000, 262144, "r--p", "", 10)
                + entry(0x7f1000000000, 262144, "rw-p", "[anon:guest]", 10))
        with self.assertRaisesRegex(ValueError, "no anonymous mapping"):
            vf.guest_ram(vf.parse_smaps(text), 256)

    def test_no_guess_when_two_fit(self):
        text = (entry(0x7f0000000000, 262144, "rw-p", "", 10)
                + entry(0x7f1000000000, 262144, "rw-p", "", 10))
        with self.assertRaisesRegex(ValueError, "cannot tell"):
            vf.guest_ram(vf.parse_smaps(text), 256)

    def test_a_merged_mapping_is_refused_with_the_sizes(self):
        text = entry(0x7f0000000000, 262144 + 2048, "rw-p", "", 10)
        with self.assertRaisesRegex(ValueError, "largest anonymous mappings: 258 MiB"):
            vf.guest_ram(vf.parse_smaps(text), 256)

    def test_contributors_leave_guest_ram_out(self):
        top = vf.contributors(vf.parse_smaps(KVMM_SMAPS), 256, 3)
        self.assertEqual(top, [("kvmm", 1800, 1), ("libc.so.6", 1200, 1), ("[heap]", 900, 1)])
        everything = vf.contributors(vf.parse_smaps(KVMM_SMAPS), 256, 10)
        self.assertIn(("anonymous", 24, 1), everything)
        self.assertEqual(sum(kib for _, kib, _ in everything), 1800 + 900 + 24 + 1200 + 20)


class CpuTest(unittest.TestCase):
    def test_vcpu_threads_by_name(self):
        self.assertTrue(vf.is_vcpu_thread("vcpu0"))
        self.assertTrue(vf.is_vcpu_thread("vcpu12"))
        self.assertTrue(vf.is_vcpu_thread("CPU 0/KVM"))
        self.assertFalse(vf.is_vcpu_thread("kvmm"))
        self.assertFalse(vf.is_vcpu_thread("qemu-system-x86"))
        self.assertFalse(vf.is_vcpu_thread("vcpu-io"))

    def test_schedstat_first_field_summed(self):
        threads = [("kvmm\n", "3000000 100 5\n"), ("vcpu0\n", "250000000 2000 90\n"),
                   ("CPU 1/KVM\n", "1000 1 1\n")]
        self.assertEqual(vf.cpu_ns(threads), (253001000, 250001000))


class QmpTest(unittest.TestCase):
    def test_waits_for_answers_past_greeting_and_events(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "qmp")
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.bind(path)
            server.listen(1)
            seen = []

            def serve():
                conn, _ = server.accept()
                with conn, conn.makefile("rwb") as f:
                    f.write(b'{"QMP": {"version": {}}}\n')
                    f.flush()
                    for _ in range(2):
                        seen.append(f.readline())
                        f.write(b'{"event": "RESUME"}\n{"return": {}}\n')
                        f.flush()

            thread = threading.Thread(target=serve)
            thread.start()
            result = vf.qmp_start(path, os.getpid(), timeout_s=10)
            thread.join()
            server.close()
        self.assertRegex(result, r"^cpu_ms=\d+\.\d{3} vcpu_cpu_ms=0\.000$")
        self.assertIn(b"qmp_capabilities", seen[0])
        self.assertIn(b"query-status", seen[1])


    def test_gives_up_when_the_process_is_gone(self):
        with tempfile.TemporaryDirectory() as d:
            gone = subprocess.Popen(["true"])
            gone.wait()
            with self.assertRaisesRegex(OSError, "ended before answering"):
                vf.qmp_start(os.path.join(d, "qmp"), gone.pid, timeout_s=10)


class MainTest(unittest.TestCase):
    def test_usage(self):
        self.assertEqual(vf.main(["vmm_footprint.py"]), 2)
        self.assertEqual(vf.main(["vmm_footprint.py", "sample", "1"]), 2)

    def test_a_process_without_guest_ram_fails_with_one_line(self):
        self.assertEqual(vf.main(["vmm_footprint.py", "sample", str(os.getpid()), "256"]), 1)


if __name__ == "__main__":
    unittest.main()
