"""The README runs as written: its bash blocks (and those of each docs/ page marked as a
walk-through) run in order, with the system's curl and jq, against a swarm started exactly as
the README says; each block exits 0 and shows the example output printed after it.
The conventions are in docs/testing.md."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.swarm import free_port

ROOT = Path(__file__).resolve().parents[2]
WALK_THROUGH = "<!-- readme-test: walk-through"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)

pytestmark = pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")),
                                reason="the README's commands need curl and jq")


@dataclass
class Block:
    where: str  # file:line
    lang: str
    code: str
    expected: list[str]


def blocks(path: Path) -> list[Block]:
    text = path.read_text()
    found: list[Block] = []
    for match in FENCE.finditer(text):
        lang, code = match.group(1), match.group(2)
        line = text.count("\n", 0, match.start()) + 1
        if lang == "text" and found and found[-1].lang in ("bash", "python") \
                and text[:match.start()].rstrip().endswith("```"):
            found[-1].expected = [x for x in code.splitlines() if x.strip()]
        elif lang in ("bash", "python"):
            found.append(Block(f"{path.relative_to(ROOT)}:{line}", lang, code, []))
    return found


def plan() -> list[Block]:
    readme = blocks(ROOT / "README.md")
    runs = [b for b in readme if not b.code.startswith(("# readme-test: skip", "# readme-test: last"))]
    for page in sorted((ROOT / "docs").glob("*.md")):
        if WALK_THROUGH in page.read_text():
            runs += [b for b in blocks(page) if b.lang == "bash" and not b.code.startswith("# readme-test: skip")]
    return runs + [b for b in readme if b.code.startswith("# readme-test: last")]


def test_docs_have_no_shorthand_urls_or_placeholders():
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for b in blocks(path):
            assert not re.search(r"curl[^\n]*\s'?:\d{4}", b.code), f"{b.where}: curl :PORT shorthand"
            assert "..." not in b.code.replace('"key_...", "secret": "tw-...", ...', ""), \
                f"{b.where}: a placeholder"


@pytest.mark.timeout(300)  # the script itself is allowed 240 s; a loaded machine needs more than 120
def test_the_readme_runs_as_written(tmp_path):
    ports = {name: free_port() for name in ("ROUTER", "LEDGER", "SIMULATOR", "GATEWAY")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLWAY_")}
    env.update({f"TOLLWAY_{name}_PORT": str(port) for name, port in ports.items()})
    env.update({
        "TOLLWAY_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
        "GATEWAY": f"http://localhost:{ports['GATEWAY']}", "ROUTER": f"http://localhost:{ports['ROUTER']}",
        "LEDGER": f"http://localhost:{ports['LEDGER']}", "SIM": f"http://localhost:{ports['SIMULATOR']}",
        "RECEIPTS": str(tmp_path / "artifacts" / "costs"),
        "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
    })
    script = ["set -eo pipefail"]
    runs = plan()
    for i, b in enumerate(runs):
        script.append(f"echo '::block {i}::' >&2; echo '::block {i}::'")
        if b.lang == "python":
            source = tmp_path / f"block{i}.py"
            source.write_text(b.code)
            script.append(f"{sys.executable} {source}")
        else:
            script.append(b.code)
    script.append(f"echo '::block {len(runs)}::'")
    try:
        done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=240)
    finally:  # whatever happened, no swarm is left behind
        subprocess.run(["scripts/stop_services.sh"], cwd=ROOT, env=env, capture_output=True, timeout=60)
    outputs = re.split(r"^::block (\d+)::\n", done.stdout, flags=re.M)
    by_block = {int(outputs[i]): outputs[i + 1] for i in range(1, len(outputs) - 1, 2)}
    reached = max(by_block, default=-1)
    if os.environ.get("README_TEST_DUMP"):  # to write the README's example outputs
        Path(os.environ["README_TEST_DUMP"]).write_text(
            "\n".join(f"== {runs[i].where if i < len(runs) else 'end'}\n{out}" for i, out in sorted(by_block.items())))
    if done.returncode != 0 or reached < len(runs):
        failed = runs[min(reached, len(runs) - 1)]
        pytest.fail(f"{failed.where} ({failed.lang}) exited {done.returncode}:\n{failed.code}\n"
                    f"--- stdout\n{by_block.get(reached, '')[-3000:]}\n--- stderr\n{done.stderr[-3000:]}")
    for i, b in enumerate(runs):
        for line in b.expected:
            assert line in by_block.get(i, ""), f"{b.where}: expected {line!r} in:\n{by_block.get(i)}"
