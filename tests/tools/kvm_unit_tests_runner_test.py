#!/usr/bin/env python3
"""tools/lib/kvm_unit_tests.py without KVM: reading x86/unittests.cfg, what
kvmm makes of a test's QEMU parameters, exit statuses, the pass-set check."""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools", "lib"))
import kvm_unit_tests as kut  # noqa: E402


class ConfigTest(unittest.TestCase):
    def test_sections_keys_and_quoted_arguments(self):
        with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as f:
            f.write("# comment\n[vmexit_cpuid]\nfile = vmexit.flat\ntest_args = 'cpuid'\n"
                    "groups = vmexit\n\n[x2apic]\nfile = apic.flat\nsmp = 2\n"
                    "qemu_params = -cpu qemu64,+x2apic,+tsc-deadline\ntimeout = 30\n")
        try:
            tests = kut.parse_config(f.name)
        finally:
            os.unlink(f.name)
        self.assertEqual([t["name"] for t in tests], ["vmexit_cpuid", "x2apic"])
        self.assertEqual(kut.shell_words(tests[0]["test_args"]), ["cpuid"])
        self.assertEqual(kut.timeout_seconds(tests[1]["timeout"]), 30)
        self.assertEqual(kut.timeout_seconds(""), kut.DEFAULT_TIMEOUT_S)
        self.assertEqual(kut.timeout_seconds("2m"), 120)

    def test_qemu_parameters_become_kvmm_options_or_notes(self):
        args = kut.KvmmArgs({"smp": "2", "test_args": '"a b" c',
                             "qemu_params": "-cpu max,+vmx -m 2048 -append 'x'"})
        self.assertEqual(args.cpus, 2)
        self.assertEqual(args.mem_mb, 2048)
        self.assertEqual(args.append, ["a b", "c", "x"])
        self.assertIn("-cpu max,+vmx not honoured (kvmm's CPU is the host's)", args.notes)
        self.assertIsNone(args.skip)
        self.assertEqual(kut.KvmmArgs({"qemu_params": "-m 4g"}).mem_mb, 4096)
        device = kut.KvmmArgs({"qemu_params": "-cpu host,hv_passthrough -device hyperv-testdev"})
        self.assertEqual(device.skip, "needs -device hyperv-testdev, which kvmm lacks")


class StatusTest(unittest.TestCase):
    def test_debug_exit_statuses(self):
        # kvmm: (code << 1) | 1 through isa-debug-exit.
        self.assertEqual(kut.classify(1, False, 1), kut.PASS)
        self.assertEqual(kut.classify(3, False, 1), kut.FAIL)
        self.assertEqual(kut.classify(77, False, 1), kut.SKIP)
        self.assertEqual(kut.classify(0, False, 1), kut.FAIL)  # Ended without the debug exit.
        self.assertEqual(kut.classify(None, True, 1), kut.TIMEOUT)
        # x86/run turns QEMU's 1 into 0.
        self.assertEqual(kut.classify(0, False, 0), kut.PASS)
        self.assertEqual(kut.classify(1, False, 0), kut.FAIL)

    def test_pass_set_and_qemu_comparison(self):
        rows = [{"test": "a", "kvmm": {"result": kut.PASS}, "qemu": {"result": kut.PASS}},
                {"test": "b", "kvmm": {"result": kut.TIMEOUT}, "qemu": {"result": kut.PASS}},
                {"test": "c", "kvmm": {"result": kut.FAIL}, "qemu": {"result": kut.FAIL}}]
        self.assertEqual(kut.check(rows, ["a"], False, True), [])
        self.assertEqual(kut.check(rows, ["a", "b"], False, True),
                         ["b passed before and now: TIMEOUT"])
        self.assertEqual(kut.check(rows, ["d"], False, True), ["d passed before and now: not run"])
        self.assertEqual(kut.check(rows, ["d"], False, False), [])  # d was not asked for.
        self.assertEqual(kut.check(rows, [], True, True),
                         ["b passes under QEMU and fails under kvmm"])

    def test_vmm_share(self):
        self.assertEqual(kut.vmm_share({"inl_from_qemu": 5000, "inl_from_kernel": 1200}), 3800)
        self.assertIsNone(kut.vmm_share({"cpuid": 1000}))
        # A round whose user-space exit came out cheaper than the in-kernel one
        # was disturbed: no share, rather than a negative one.
        self.assertIsNone(kut.vmm_share({"inl_from_qemu": 80000, "inl_from_kernel": 1700000}))


if __name__ == "__main__":
    unittest.main()
