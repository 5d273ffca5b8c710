#!/usr/bin/env python3
"""Lists the longest functions under src/ (lines from `fn` to its closing brace at the same indent).

Usage: tools/fn_lengths.py [N] -- prints the N longest (default 10); exits 1 if any is over 150.
"""
import pathlib, re, sys

FN = re.compile(r"^(\s*)(pub(\([^)]*\))?\s+)?(const\s+)?(unsafe\s+)?fn\s+(\w+)")


def lengths(root="src"):
    for path in sorted(pathlib.Path(root).rglob("*.rs")):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            m = FN.match(line)
            if not m or line.rstrip().endswith(";"):
                continue
            close = m.group(1) + "}"
            for j in range(i, len(lines)):
                if lines[j].rstrip() == close:
                    yield j - i + 1, f"{path}:{i + 1}", m.group(6)
                    break


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    found = sorted(lengths(), reverse=True)
    for length, where, name in found[:n]:
        print(f"{length:5}  {name:32} {where}")
    sys.exit(1 if found and found[0][0] > 150 else 0)
