"""Runs the README's grpcurl walkthrough against a running gateway, so the
documentation cannot rot.

Every ```sh block in the "grpcurl walkthrough" section is run with bash. When
the block is followed by an output block, the command must produce it: each
shown line (all but "..." elisions) must appear in the output, in order; an
output starting with "ERROR:" means the command must fail, printing that
status. Prints "N passed, N failed" and exits non-zero on any failure.
"""

import re
import subprocess
import sys
from pathlib import Path

readme = Path(__file__).resolve().parent.parent / "README.md"
text = readme.read_text()
section = text.split("## grpcurl walkthrough", 1)[1].split("\n## ", 1)[0]
blocks = re.findall(r"```(\w*)\n(.*?)```", section, flags=re.S)

passed = failed = 0
for index, (lang, body) in enumerate(blocks):
    if lang != "sh":
        continue
    following = blocks[index + 1] if index + 1 < len(blocks) else None
    expected = following[1] if following and following[0] == "" else None
    run = subprocess.run(["bash", "-eo", "pipefail", "-c", body], capture_output=True, text=True, timeout=60)
    output = run.stdout + run.stderr
    problems = []
    if expected is not None and expected.startswith("ERROR:"):
        if run.returncode == 0:
            problems.append("expected the command to fail")
    elif run.returncode != 0:
        problems.append(f"exit status {run.returncode}")
    if expected is not None:
        position = 0
        for line in expected.splitlines():
            wanted = line.strip()
            if not wanted or wanted == "...":
                continue
            found = output.find(wanted, position)
            if found < 0:
                problems.append(f"missing output line: {wanted}")
                break
            position = found + len(wanted)
    first = body.strip().splitlines()[0][:100]
    if problems:
        failed += 1
        print(f"FAIL {first}\n  " + "\n  ".join(problems) + "\n  output:\n" + output[:2000])
    else:
        passed += 1
        print(f"ok   {first}")

print(f"walkthrough: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
