"""Runs the README's grpcurl walkthrough against a running gateway, so the
documentation cannot rot.

Every ```sh block in the "grpcurl walkthrough" section is run with bash. When
the block is followed by an output block, the command must produce it: each
shown line (all but "..." elisions) must appear in the output, in order; an
output starting with "ERROR:" means the command must fail, printing that
status. Prints "N passed, N failed" and exits non-zero on any failure.

A block may start a process in the background (the TLS part starts a second
gateway) if it sends that process's output to a file: a background process
holding the block's stdout would hold the block open until the timeout.
"""

import re
import subprocess
import sys
from pathlib import Path

readme = Path(__file__).resolve().parent.parent / "README.md"
text = readme.read_text()
section = text.split("## grpcurl walkthrough", 1)[1].split("\n## ", 1)[0]
blocks = re.findall(r"```(\w*)\n(.*?)```", section, flags=re.S)

# Per block. The TLS part starts a second gateway in the background and waits until it answers;
# .ci/run has built its binary by then, so it is up in seconds.
TIMEOUT = 60

passed = failed = 0
for index, (lang, body) in enumerate(blocks):
    if lang != "sh":
        continue
    following = blocks[index + 1] if index + 1 < len(blocks) else None
    expected = following[1] if following and following[0] == "" else None
    problems = []
    try:
        run = subprocess.run(["bash", "-eo", "pipefail", "-c", body], capture_output=True, text=True, timeout=TIMEOUT)
        output, status = run.stdout + run.stderr, run.returncode
    except subprocess.TimeoutExpired as exc:
        # A failed block, not a crash: the blocks after it still run and are counted.
        output = "".join(x.decode(errors="replace") if isinstance(x, bytes) else x for x in (exc.stdout or "", exc.stderr or ""))
        status = None
        problems.append(f"timed out after {TIMEOUT} s")
    if status is None:
        pass
    elif expected is not None and expected.startswith("ERROR:"):
        if status == 0:
            problems.append("expected the command to fail")
    elif status != 0:
        problems.append(f"exit status {status}")
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
