#!/usr/bin/env python3
"""Runs kvm-unit-tests' x86_64 tests under kvmm, and under QEMU beside it.

tools/kvm-unit-tests builds the suite and calls this with the suite's
directory. Each test of x86/unittests.cfg runs as the suite's own runner
would run it (x86/run: -smp, -append, the test's qemu_params, its timeout),
with kvmm given the same kernel, environment module and command line and
the devices the suite expects (isa-debug-exit at 0xf4, pc-testdev).
"""

import argparse
import atexit
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

DEFAULT_TIMEOUT_S = 90  # The suite's default (scripts/runtime.bash).
PASS, FAIL, SKIP, TIMEOUT = "PASS", "FAIL", "SKIP", "TIMEOUT"
# lib/report.c exits with 77 >> 1 when every check was skipped: through the
# debug-exit port ((code << 1) | 1) that is the autotools skip status, 77.
SKIP_STATUS = 77


def parse_config(path):
    """The [sections] of unittests.cfg, in order, as dicts of key -> value."""
    tests = []
    current = None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            m = re.fullmatch(r"\[(.+)\]", line)
            if m:
                current = {"name": m.group(1)}
                tests.append(current)
                continue
            m = re.fullmatch(r"([a-z_]+)\s*=\s*(.*)", line)
            if m and current is not None:
                current[m.group(1)] = m.group(2)
    return tests


def shell_words(text):
    """The words the suite's runner gets from a value (it evals them)."""
    if not text:
        return []
    result = subprocess.run(["bash", "-c", 'for w in ' + text + '; do printf "%s\\0" "$w"; done'],
                            capture_output=True, text=True, check=False)
    return [w for w in result.stdout.split("\0") if w]


def timeout_seconds(value):
    if not value:
        return DEFAULT_TIMEOUT_S
    m = re.fullmatch(r"(\d+)([smh]?)", value.strip())
    if not m:
        return DEFAULT_TIMEOUT_S
    return int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def memory_megabytes(value):
    m = re.fullmatch(r"(\d+)([mMgG]?)", value)
    if not m:
        return None
    return int(m.group(1)) * (1024 if m.group(2) in ("g", "G") else 1)


class KvmmArgs:
    """What kvmm makes of a test's QEMU parameters: kvmm options, and notes
    on what it cannot honour. `skip` is set when the test needs a device or
    machine kvmm lacks, so running it would say nothing about kvmm."""

    def __init__(self, test):
        self.cpus = int(test.get("smp", "1"))
        self.mem_mb = 256
        self.append = shell_words(test.get("test_args", ""))
        self.notes = []
        self.skip = None
        words = shell_words(test.get("qemu_params", ""))
        i = 0
        while i < len(words):
            word = words[i]
            value = words[i + 1] if i + 1 < len(words) else ""
            if word == "-m":
                mb = memory_megabytes(value)
                if mb:
                    self.mem_mb = mb
                i += 2
            elif word == "-smp":
                self.cpus = int(value.split(",")[0])
                i += 2
            elif word == "-append":
                self.append += shell_words(value) or [value]
                i += 2
            elif word == "-cpu":
                if value.split(",")[0] != "host" or "," in value:
                    self.notes.append("-cpu " + value + " not honoured (kvmm's CPU is the host's)")
                i += 2
            elif word == "-enable-kvm":
                i += 1
            elif word in ("-device", "-M", "-machine", "-overcommit", "-global"):
                if word == "-device" or "q35" in value or "iommu" in value:
                    self.skip = "needs " + word + " " + value + ", which kvmm lacks"
                else:
                    self.notes.append(word + " " + value + " not honoured")
                i += 2
            else:
                self.notes.append(word + " not honoured")
                i += 1


def host_checks_fail(test):
    """The suite's check= conditions (PATH=VALUE) not met on this host."""
    for param in test.get("check", "").split():
        path, _, value = param.partition("=")
        try:
            with open(path, encoding="utf-8") as f:
                if f.read().strip() != value:
                    return path + " is not " + value
        except OSError:
            return path + " is missing"
    return None


def classify(status, timed_out, passed_status):
    """PASS/FAIL/SKIP/TIMEOUT from a run's exit status. A test's exit(code)
    reaches kvmm's status through the debug-exit port as (code << 1) | 1: 1
    is a pass, 77 the suite's skip (code 38), anything else a failure.
    x86/run turns QEMU's 1 into 0 (`passed_status`) and keeps the rest."""
    if timed_out:
        return TIMEOUT
    if status == passed_status:
        return PASS
    if status == SKIP_STATUS:
        return SKIP
    return FAIL


def last_line(text):
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def run_command(argv, timeout_s, env=None, cwd=None):
    """(status, output, seconds, timed_out); output is stdout and stderr."""
    start = time.monotonic()
    with subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, env=env, cwd=cwd,
                          start_new_session=True) as proc:
        try:
            out, _ = proc.communicate(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            out, _ = proc.communicate()
            timed_out = True
        status = proc.returncode
    return status, out.decode("utf-8", "replace"), time.monotonic() - start, timed_out


def environment_module():
    """A file with the tests' environment (the suite passes it as the
    multiboot module): the host kernel's version, which tests read to decide
    errata. Removed when this process exits."""
    fd, path = tempfile.mkstemp(prefix="kvmm-kut-env.")
    os.close(fd)
    atexit.register(os.unlink, path)
    release = os.uname().release
    m = re.match(r"(\d+)\.(\d+)\.?(\d*)", release)
    version, patch, sub = (m.group(1), m.group(2), m.group(3) or "0") if m else ("0", "0", "0")
    with open(path, "w", encoding="utf-8") as f:
        f.write("TARGET=kvmm\nKERNEL_VERSION_STRING=%s\nKERNEL_VERSION=%s\n"
                "KERNEL_PATCHLEVEL=%s\nKERNEL_SUBLEVEL=%s\n" % (release, version, patch, sub))
    return path


def run_kvmm(opts, test, kargs, env_file):
    kernel = os.path.join(opts.suite, "x86", test["file"])
    argv = [opts.kvmm, "run", "--kernel", kernel, "--initrd", env_file,
            "--cmdline", " ".join(kargs.append), "--cpus", str(kargs.cpus),
            "--mem", "%dM" % kargs.mem_mb, "--device", "isa-debug-exit,iobase=0xf4,iosize=4",
            "--device", "pc-testdev", "--serial", "stdio", "--api-socket", "none"]
    return argv, run_command(argv, test_timeout(opts, test))


def run_qemu(opts, test):
    env = dict(os.environ, TESTNAME=test["name"], TIMEOUT="0", ACCEL="kvm")
    argv = ["./x86/run", "x86/" + test["file"], "-smp", test.get("smp", "1")]
    args = shell_words(test.get("test_args", ""))
    if args:
        argv += ["-append", " ".join(args)]
    argv += shell_words(test.get("qemu_params", ""))
    return argv, run_command(argv, test_timeout(opts, test), env=env, cwd=opts.suite)


def test_timeout(opts, test):
    return min(timeout_seconds(test.get("timeout", "")) * opts.timeout_scale, opts.max_timeout)


def selected(opts, tests):
    chosen = []
    for test in tests:
        groups = test.get("groups", "").split()
        if opts.tests and test["name"] not in opts.tests:
            continue
        if opts.group and opts.group not in groups:
            continue
        chosen.append(test)
    unknown = set(opts.tests) - {t["name"] for t in tests}
    if unknown:
        sys.exit("kvm-unit-tests: no test named %s in x86/unittests.cfg" % ", ".join(sorted(unknown)))
    return chosen


def not_run_reason(opts, test):
    """Why a test is not run at all (the same for every VMM), or None."""
    groups = test.get("groups", "").split()
    if test.get("arch", "x86_64") != "x86_64":
        return test["arch"] + " only"
    if test.get("accel", "kvm") != "kvm":
        return test["accel"] + " only"
    if "nodefault" in groups and not opts.group and test["name"] not in opts.tests:
        return "manual run only (group nodefault)"
    if not os.path.exists(os.path.join(opts.suite, "x86", test["file"])):
        return "x86/" + test["file"] + " was not built"
    return host_checks_fail(test)


def vmm_result(name, argv, run):
    status, output, seconds, timed_out = run
    verdict = classify(status, timed_out, 1 if name == "kvmm" else 0)
    return {"vmm": name, "result": verdict, "status": status, "seconds": round(seconds, 2),
            "summary": next((l for l in output.splitlines() if l.startswith("SUMMARY:")), ""),
            "last_line": last_line(output), "command": " ".join(shlex.quote(a) for a in argv),
            "output": output}


def write_log(opts, test_name, vmm, result):
    if not opts.log_dir:
        return
    os.makedirs(opts.log_dir, exist_ok=True)
    with open(os.path.join(opts.log_dir, "%s.%s.log" % (test_name, vmm)), "w",
              encoding="utf-8") as f:
        f.write("$ " + result["command"] + "\n" + result["output"])


VMEXIT_LINE = re.compile(r"^([a-z_0-9]+) (-?\d+)\r?$", re.M)


def vmexit_rounds(opts):
    """--vmexit: vmexit.flat (every exit kind, 2 vCPUs) under kvmm and QEMU,
    alternating which goes first, `opts.rounds` rounds. Returns one dict per
    (round, vmm) with the cycles per exit of each kind."""
    # One vCPU: the exit costs need no second one, and with two, vmexit's
    # parallel kinds (run on every vCPU at once) stall or crash under kvmm in
    # the nested KVM host now and then (docs/kvm-unit-tests.md).
    test = {"name": "vmexit", "file": "vmexit.flat", "smp": "1", "timeout": "120",
            "test_args": " ".join(opts.vmexit_kinds)}
    env_file = environment_module()
    runs = []
    for round_no in range(1, opts.rounds + 1):
        order = ["kvmm", "qemu"] if round_no % 2 else ["qemu", "kvmm"]
        for vmm in order:
            if vmm == "kvmm":
                argv, run = run_kvmm(opts, test, KvmmArgs(test), env_file)
            else:
                argv, run = run_qemu(opts, test)
            result = vmm_result(vmm, argv, run)
            write_log(opts, "vmexit-round%d" % round_no, vmm, result)
            cycles = {m.group(1): int(m.group(2)) for m in VMEXIT_LINE.finditer(result["output"])}
            runs.append({"round": round_no, "vmm": vmm, "result": result["result"], "cycles": cycles})
            share = vmm_share(cycles)
            if share is not None:
                note = ", VMM share %d cycles" % share
            elif "inl_from_qemu" in cycles and "inl_from_kernel" in cycles:
                note = (", no VMM share: inl_from_qemu <= inl_from_kernel, a disturbed round "
                        "(left out)")
            else:
                note = ""
            print("round %d %-4s %-7s %d kinds%s" % (
                round_no, vmm, result["result"], len(cycles), note), flush=True)
    return runs


def vmm_share(cycles):
    """inl_from_qemu (a port the VMM handles in user space) minus
    inl_from_kernel (one KVM's in-kernel PIC handles): the VMM's own part of
    an exit, in cycles.

    An exit to user space cannot cost less than one KVM answers itself: a
    round where it did was disturbed (the host stalled during one of the two
    loops) and has no share."""
    if "inl_from_qemu" in cycles and "inl_from_kernel" in cycles:
        share = cycles["inl_from_qemu"] - cycles["inl_from_kernel"]
        return share if share > 0 else None
    return None


def median(values):
    values = sorted(values)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def print_vmexit_table(runs):
    kinds = []
    for run in runs:
        for kind in run["cycles"]:
            if kind not in kinds:
                kinds.append(kind)
    print()
    print("vmexit, cycles per exit (median of %d rounds; each VMM on the same host, alternating)"
          % max((r["round"] for r in runs), default=0))
    print()
    print("| exit | kvmm | QEMU | kvmm / QEMU |")
    print("|---|---:|---:|---:|")
    summary = {}
    for kind in kinds:
        k = median([r["cycles"][kind] for r in runs if r["vmm"] == "kvmm" and kind in r["cycles"]])
        q = median([r["cycles"][kind] for r in runs if r["vmm"] == "qemu" and kind in r["cycles"]])
        ratio = "%.2f" % (k / q) if k is not None and q else "-"
        print("| %s | %s | %s | %s |" % (kind, "-" if k is None else "%g" % k,
                                         "-" if q is None else "%g" % q, ratio))
        summary[kind] = {"kvmm": k, "qemu": q}
    shares = {vmm: [vmm_share(r["cycles"]) for r in runs if r["vmm"] == vmm
                    and vmm_share(r["cycles"]) is not None] for vmm in ("kvmm", "qemu")}
    k, q = median(shares["kvmm"]), median(shares["qemu"])
    ratios = []
    for round_no in sorted({r["round"] for r in runs}):
        per = {r["vmm"]: vmm_share(r["cycles"]) for r in runs if r["round"] == round_no}
        if per.get("kvmm") is not None and per.get("qemu"):
            ratios.append(per["kvmm"] / per["qemu"])
    print()
    print("VMM share (inl_from_qemu - inl_from_kernel), cycles: kvmm %s, QEMU %s%s" % (
        k, q, ", kvmm / QEMU %.2f (median of per-round ratios %.2f)" % (k / q, median(ratios))
        if k is not None and q and ratios else ""))
    return summary, {"kvmm": k, "qemu": q, "per_round_ratios": ratios}


def main():
    parser = argparse.ArgumentParser(prog="tools/kvm-unit-tests")
    parser.add_argument("--suite", required=True)
    parser.add_argument("--kvmm", required=True)
    parser.add_argument("--compare-qemu", action="store_true")
    parser.add_argument("-g", "--group", default="")
    parser.add_argument("--json", default="")
    parser.add_argument("--expect", default="")
    parser.add_argument("--log-dir", default="")
    parser.add_argument("--timeout-scale", type=float, default=1.0)
    parser.add_argument("--max-timeout", type=float, default=600)
    parser.add_argument("--vmexit", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    # The exits a VMM takes part in, and the in-kernel ones to subtract.
    parser.add_argument("--vmexit-kinds", nargs="*", default=[
        "cpuid", "vmcall", "mov_from_cr8", "mov_to_cr8", "inl_from_pmtimer", "inl_from_qemu",
        "inl_from_kernel", "outl_to_kernel"])
    parser.add_argument("tests", nargs="*")
    opts = parser.parse_args()

    if opts.vmexit:
        runs = vmexit_rounds(opts)
        summary, share = print_vmexit_table(runs)
        if opts.json:
            with open(opts.json, "w", encoding="utf-8") as f:
                json.dump({"host_kernel": os.uname().release, "runs": runs, "median": summary,
                           "vmm_share": share}, f, indent=2)
        return 0 if share["kvmm"] is not None and share["qemu"] is not None else 1

    expected = []
    if opts.expect:
        with open(opts.expect, encoding="utf-8") as f:
            expected = [l.split("#")[0].strip() for l in f if l.split("#")[0].strip()]
    all_selected = not opts.tests and not opts.group
    if expected and all_selected:
        opts.tests = expected

    tests = selected(opts, parse_config(os.path.join(opts.suite, "x86", "unittests.cfg")))
    env_file = environment_module()
    rows = []
    for test in tests:
        kargs = KvmmArgs(test)
        row = {"test": test["name"], "file": test["file"], "smp": kargs.cpus, "notes": kargs.notes}
        reason = not_run_reason(opts, test)
        if reason:
            row["kvmm"] = {"result": SKIP, "reason": reason}
            if opts.compare_qemu:
                row["qemu"] = {"result": SKIP, "reason": reason}
        else:
            if kargs.skip:
                row["kvmm"] = {"result": SKIP, "reason": kargs.skip}
            else:
                argv, run = run_kvmm(opts, test, kargs, env_file)
                row["kvmm"] = vmm_result("kvmm", argv, run)
                write_log(opts, test["name"], "kvmm", row["kvmm"])
            if opts.compare_qemu:
                argv, run = run_qemu(opts, test)
                row["qemu"] = vmm_result("qemu", argv, run)
                write_log(opts, test["name"], "qemu", row["qemu"])
        rows.append(row)
        line = "%-28s kvmm %-7s" % (row["test"], row["kvmm"]["result"])
        if opts.compare_qemu:
            line += " qemu %-7s" % row["qemu"]["result"]
        detail = row["kvmm"].get("reason") or (
            row["kvmm"]["last_line"] if row["kvmm"]["result"] != PASS else "")
        print(line + ("  " + detail[:100] if detail else ""), flush=True)

    print()
    print_table(rows, opts.compare_qemu)
    failures = check(rows, expected, opts.compare_qemu, all_selected)
    if opts.json:
        for row in rows:
            for vmm in ("kvmm", "qemu"):
                row.get(vmm, {}).pop("output", None)
        with open(opts.json, "w", encoding="utf-8") as f:
            json.dump({"host_kernel": os.uname().release, "rows": rows, "failures": failures}, f,
                      indent=2)
    for failure in failures:
        print("kvm-unit-tests: " + failure, file=sys.stderr)
    return 1 if failures else 0


def print_table(rows, compare):
    header = "| test | kvmm |" + (" QEMU |" if compare else "")
    print(header)
    print("|---|---|" + ("---|" if compare else ""))
    for row in rows:
        print("| %s | %s |%s" % (row["test"], row["kvmm"]["result"],
                                 " %s |" % row["qemu"]["result"] if compare else ""))
    for vmm in ("kvmm", "qemu") if compare else ("kvmm",):
        counts = {}
        for row in rows:
            counts[row[vmm]["result"]] = counts.get(row[vmm]["result"], 0) + 1
        print("%s: %s" % (vmm, ", ".join("%d %s" % (counts.get(k, 0), k)
                                        for k in (PASS, FAIL, SKIP, TIMEOUT))))


def check(rows, expected, compare, all_selected):
    """What makes the run fail: an expected test that did not pass under kvmm,
    or (with QEMU) a test QEMU passes and kvmm fails."""
    failures = []
    by_name = {row["test"]: row for row in rows}
    for name in expected:
        row = by_name.get(name)
        if row is None and not all_selected:
            continue  # Not among the tests asked for.
        if row is None or row["kvmm"]["result"] != PASS:
            failures.append("%s passed before and now: %s" %
                            (name, row["kvmm"]["result"] if row else "not run"))
    if compare:
        for row in rows:
            if row["qemu"]["result"] == PASS and row["kvmm"]["result"] in (FAIL, TIMEOUT):
                failures.append("%s passes under QEMU and fails under kvmm" % row["test"])
    return failures


if __name__ == "__main__":
    sys.exit(main())
