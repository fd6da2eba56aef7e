"""Where the time goes: py-spy sampling each service process while a path is measured, and the
top functions of each by own time and by total time, aggregated from py-spy's folded stacks
(``--format raw``: one line per distinct stack, ``outer;…;inner count``).

Only samples of the thread holding the GIL are taken (``--gil``): the Python code a process
runs, not its threads waiting for a socket, a lock or the CPU (on a busy machine a thread ready
to run but not running would count too), so the shares are of the process's Python CPU time.
``--nonblocking``: the process is not paused to be read (a sample may rarely be torn, the
process is not slowed). The total-time list leaves out the frames every stack passes through
(threads, the event loop, the command line), which say nothing about where the time goes.
The raw files are kept (printed where), e.g. for https://www.speedscope.app or flamegraph.pl.

Run alone over a file: `.venv/bin/python bench/hotspots.py FILE.txt [--top 10]`.
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

PY_SPY = Path(sys.executable).parent / "py-spy"
# A frame as py-spy writes it with --nolineno: "function (path/to/file.py)".
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*)\)$")
# Where a file's path from its package begins: an installed package's, the standard library's,
# or this checkout's (wherever it is cloned).
ROOTS = (
    "site-packages/",
    f"lib/python{sys.version_info[0]}.{sys.version_info[1]}/",
    f"{Path(__file__).resolve().parents[1]}/",
)
# Files of the frames under everything (the total-time list leaves them out).
PLUMBING = (
    "(threading.py)",
    "(concurrent/futures/",
    "(asyncio/",
    "(<frozen runpy>)",
    "(typer/",
    "(click/",
    "(uvicorn/",
    "(anyio/",
    "(kotoutus/cli/",
    "(contextlib.py)",
)


@dataclass
class Profile:
    samples: int
    own: Counter[str]
    total: Counter[str]


def short(frame: str) -> str:
    """``function (file)`` with the file's path from its package on."""
    match = FRAME.match(frame)
    if match is None:
        return frame
    path = match["file"]
    for root in ROOTS:
        if root in path:
            path = path.split(root, 1)[1]
            break
    return f"{match['function']} ({path})"


def aggregate(folded: str) -> Profile:
    """Own time: the innermost frame of each sample; total: every function on the stack,
    once per sample however often it recurs."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in folded.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [short(frame) for frame in stack.split(";")]
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    return Profile(samples, own, total)


def top(profile: Profile, name: str, count: int = 10) -> list[str]:
    if not profile.samples:
        return [f"  {name}: no samples"]
    lines = [f"  {name}: {profile.samples} samples on a CPU"]
    total = Counter({f: n for f, n in profile.total.items() if not any(p in f for p in PLUMBING)})
    for title, counter in (("own time", profile.own), ("total time", total)):
        lines.append(f"    top {count} by {title}:")
        for frame, samples in counter.most_common(count):
            lines.append(f"      {100 * samples / profile.samples:5.1f} %  {frame}")
    return lines


class Recorder:
    """py-spy recording each of ``processes`` (name → pid) until ``stop``."""

    def __init__(self, processes: dict[str, int], folder: Path, rate: int = 100) -> None:
        self.folder = folder
        self.files = {name: folder / f"{name}.txt" for name in processes}
        self.spies = {
            name: subprocess.Popen(
                [
                    str(PY_SPY),
                    "record",
                    "--nonblocking",
                    "--gil",
                    "--format",
                    "raw",
                    "--nolineno",
                    "--rate",
                    str(rate),
                    "--output",
                    str(self.files[name]),
                    "--pid",
                    str(pid),
                ],
                stdout=subprocess.DEVNULL,
                stderr=(folder / f"{name}.py-spy.log").open("wb"),
            )
            for name, pid in processes.items()
        }

    def stop(self) -> dict[str, Profile]:
        """Stops every recording (as Ctrl-C does: each writes its file) and reads them."""
        for spy in self.spies.values():
            if spy.poll() is None:
                spy.send_signal(signal.SIGINT)
        profiles = {}
        for name, spy in self.spies.items():
            try:
                spy.wait(timeout=60)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait()
            path = self.files[name]
            profiles[name] = aggregate(path.read_text() if path.exists() else "")
        return profiles


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    for path in args.files:
        print("\n".join(top(aggregate(path.read_text()), path.stem, args.top)))


if __name__ == "__main__":
    main()
