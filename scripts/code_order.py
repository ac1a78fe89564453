#!/usr/bin/env python3
"""Reads a callgrind profile and prints the functions of one binary it saw run, one mangled
name per line, in the order lld's --symbol-ordering-file wants them (scripts/code-order.sh).

    code_order.py CALLGRIND_OUT BINARY [EARLIER_ORDER]

Names are kept only if BINARY defines them (nm), so a stale profile cannot add strangers.
With EARLIER_ORDER, its names come first and the profile's new ones after them: a start-up
profile followed by a traffic profile lays start-up code first, then the hot paths.
"""

import re
import subprocess
import sys

DEFINITION = re.compile(r"^(fn|cfn|ob|cob)=\((\d+)\)(?: (.*))?$")


def functions_run(profile, binary_name):
    """Function names callgrind attributes to `binary_name`'s object (compressed names:
    each id is spelled out once, wherever it first appears)."""
    objects, functions, found = {}, {}, []
    current_object = None
    with open(profile, errors="replace") as lines:
        for line in lines:
            m = DEFINITION.match(line.rstrip("\n"))
            if not m:
                continue
            kind, ident, name = m.groups()
            if kind in ("ob", "cob"):
                if name:
                    objects[ident] = name
                if kind == "ob":
                    current_object = objects.get(ident, "")
            else:
                if name:
                    functions[ident] = name
                if kind == "fn" and current_object.endswith("/" + binary_name):
                    found.append(functions[ident])
    return found


def defined_code_symbols(binary):
    listing = subprocess.run(
        ["nm", "--defined-only", binary], capture_output=True, text=True, check=True
    ).stdout
    names = set()
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwW":
            names.add(parts[2])
    return names


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    profile, binary = sys.argv[1], sys.argv[2]
    defined = defined_code_symbols(binary)
    order, seen = [], set()
    earlier = []
    if len(sys.argv) == 4:
        with open(sys.argv[3]) as f:
            earlier = [line.strip() for line in f if line.strip()]
    profiled = sorted(set(functions_run(profile, binary.rsplit("/", 1)[-1])))
    for name in earlier + profiled:
        if name in defined and name not in seen:
            seen.add(name)
            order.append(name)
    sys.stdout.write("".join(name + "\n" for name in order))
    print(f"{len(order)} functions ordered", file=sys.stderr)


if __name__ == "__main__":
    main()
