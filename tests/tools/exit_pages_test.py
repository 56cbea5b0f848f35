#!/usr/bin/env python3
"""tools/lib/exit_pages.py on a tiny synthetic lackey trace: exits cut at
marker stores, code and data pages counted apart and together, accesses that
straddle a page, the marker page and start-up left out, the median."""

import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools", "lib"))
import exit_pages as ep  # noqa: E402

MARKER = 0x12b000

# Shaped like valgrind --tool=lackey --trace-mem=yes output.
TRACE = """\
==4242== Lackey, an example Valgrind tool
==4242== Command: exit_dispatch_bench pio_out 3 --mark
I  04001000,3
 L 1fff000700,8
I  04002000,5
 S 0012b000,8
I  00109ffe,4
 L 00200000,4
 S 1fff000ff8,16
I  0010a010,2
 M 00200010,4
I  00109000,7
 S 0012b000,8
I  00109ffe,4
 L 00200000,4
I  00109000,7
 S 0012b000,8
I  00109ffe,4
 L 00200000,4
 L 00300000,8
 L 00400000,8
I  00109000,7
 S 0012b000,8
I  04003000,3
 L 00500000,8
==4242== 
==4242== I   refs:      123,456
"""


class ExitPagesTest(unittest.TestCase):
    def footprints(self, text=TRACE):
        return list(ep.exit_footprints(text.splitlines(), MARKER))

    def test_cuts_exits_at_marker_stores_and_drops_start_up_and_teardown(self):
        # Exit 1: code pages 0x109 and 0x10a (0x109ffe,4 straddles them; the
        # next marker store's own fetch, 0x109000, belongs to it); data 0x200
        # and the two pages the 16-byte stack store straddles. Start-up
        # (0x4001000...) and what follows the last marker are not exits.
        self.assertEqual(self.footprints(), [(2, 3, 5), (2, 1, 3), (2, 3, 5)])

    def test_marker_page_is_not_counted(self):
        marked = TRACE.replace(" L 00300000,8", " L 0012b008,8")
        self.assertEqual(self.footprints(marked)[2], (2, 2, 4))

    def test_a_load_of_the_marker_does_not_cut(self):
        loaded = TRACE.replace(" S 0012b000,8\nI  00109ffe,4\n L 00200000,4\n L 00300000",
                               " L 0012b000,8\nI  00109ffe,4\n L 00200000,4\n L 00300000")
        self.assertEqual(self.footprints(loaded), [(2, 3, 5), (2, 3, 5)])

    def test_no_marker_means_no_exit(self):
        self.assertEqual(self.footprints(TRACE.replace("0012b000", "00777000")), [])

    def test_summary_is_the_median_after_skipping(self):
        self.assertEqual(ep.summarize(self.footprints(), 0), (2, 3, 5, 3))
        self.assertEqual(ep.summarize(self.footprints(), 1), (2, 2, 4, 2))
        self.assertIsNone(ep.summarize(self.footprints(), 3))

    def test_command_line(self):
        with tempfile.NamedTemporaryFile("w", suffix=".trace") as trace:
            trace.write(TRACE)
            trace.flush()
            script = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "lib",
                                  "exit_pages.py")
            run = lambda *extra: subprocess.run(  # noqa: E731
                [sys.executable, script, "--marker", f"{MARKER:#x}", *extra, trace.name],
                capture_output=True, text=True, check=False)
            ok = run("--skip", "1")
            self.assertEqual((ok.returncode, ok.stdout), (0, "2 2 4 2\n"))
            empty = run("--skip", "3")
            self.assertEqual(empty.returncode, 1)
            self.assertIn("no exit after the first 3", empty.stderr)


if __name__ == "__main__":
    unittest.main()
