#!/usr/bin/env python3
"""What ctest says, in lines a shell script can read: tools/test's reader of
ctest's machine-readable outputs, so that nothing parses ctest's console.

  ctest_results.py names < JSON
      JSON is the output of 'ctest --show-only=json-v1 ...': print the name of
      every test in it, one a line, in ctest's order.
  ctest_results.py junit FILE...
      FILEs are written by 'ctest --output-junit FILE': print "RESULT<TAB>NAME"
      for every test case in them, in order, RESULT being
        passed   it ran and passed
        skipped  SKIP_RETURN_CODE / SKIP_REGULAR_EXPRESSION, or DISABLED
        failed   anything else: failed, timed out, or could not run
                 (a missing executable or required file, which ctest counts
                 as failures too)
      A FILE that is missing or not JUnit XML is reported on stderr and
      skipped: its tests did not report.

Test names never hold a newline or a tab (ctest would not run them).
"""
import json
import sys
import xml.etree.ElementTree as ElementTree


def names(stream):
    for test in json.load(stream).get("tests", []):
        print(test["name"])


def result(case):
    status = case.get("status", "")
    if case.find("failure") is not None or case.find("error") is not None:
        return "failed"
    if status == "run":
        return "passed"
    if status == "disabled":
        return "skipped"
    skipped = case.find("skipped")
    # ctest writes status="notrun" both for skips and for tests it could not
    # start; only the message tells them apart.
    if status == "notrun" and skipped is not None and skipped.get("message", "").startswith("SKIP_"):
        return "skipped"
    return "failed"


def junit(paths):
    for path in paths:
        try:
            root = ElementTree.parse(path).getroot()
        except (OSError, ElementTree.ParseError) as error:
            print(f"ctest_results.py: {path}: {error}", file=sys.stderr)
            continue
        for case in root.iter("testcase"):
            print(f"{result(case)}\t{case.get('name', '')}")


def main(argv):
    if len(argv) == 2 and argv[1] == "names":
        names(sys.stdin)
        return 0
    if len(argv) >= 2 and argv[1] == "junit":
        junit(argv[2:])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
