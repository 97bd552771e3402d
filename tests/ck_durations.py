#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The slowest tests of a Check run, from its XML log (CK_XML_LOG_FILE_NAME): each test function's
durations summed over its loop iterations, the N largest printed with their suite and share of
the whole. tests/memcheck.sh prints them for each valgrind group, so that CI's log says where the
time under valgrind goes. Usage: ck_durations.py LOG.xml [N]"""
import sys
import xml.etree.ElementTree as ET


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    n = int(sys.argv[2]) if len(sys.argv) == 3 else 5
    try:
        root = ET.parse(sys.argv[1]).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"ck_durations: {sys.argv[1]}: {e}", file=sys.stderr)
        return 1
    ns = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    total, per = 0.0, {}
    for suite in root.iter(ns + "suite"):
        title = suite.findtext(ns + "title", "?")
        for test in suite.iter(ns + "test"):
            d = float(test.findtext(ns + "duration", "0") or 0)
            key = (title, test.findtext(ns + "id", "?"))
            per[key] = per.get(key, 0.0) + d
            total += d
    for (suite, test), d in sorted(per.items(), key=lambda kv: -kv[1])[:n]:
        print(f"    {d:8.1f} s {100 * d / total if total else 0:5.1f}%  {suite}: {test}")
    print(f"    {total:8.1f} s in all ({len(per)} tests)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
