"""Run ``srcli`` commands as a user would, each in its own process under a memory and a time limit.

Starting Python and importing torch takes seconds, so a *zygote* process imports srcli once and forks a
child for every command: the child sets ``RLIMIT_AS`` (its address space may grow by ``memory`` bytes
at most) and ``RLIMIT_CPU``, restores Python's own SIGINT handler, runs the command line in a folder of its
own and exits with its code; the zygote kills it after ``timeout`` seconds. A hang or a runaway
allocation therefore fails a test instead of taking the machine down. ``HF_HUB_OFFLINE`` is set: no
command reaches the network.

    with Sandbox() as sandbox:
        outcome = sandbox.run(["upscale", "a.png", "-q"], cwd=folder)
        outcome.status, outcome.stderr, outcome.peak_mb
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ZYGOTE = r"""
import json, os, resource, signal, sys, time
import torch
import srcli.cli, srcli.tasks.sr, srcli.tasks.colorize, srcli.tasks.cs, srcli.tasks.check, srcli.checkpoints.load
import srcli.checkpoints.manifest

def child(request):
    os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as a fresh python starts: Ctrl-C raises
    size = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = size + request["memory"]
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cpu = int(request["timeout"]) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    os.umask(request["umask"])
    os.chdir(request["cwd"])
    stdin = os.open(request["stdin"] or os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    for fd, name in ((1, "stdout"), (2, "stderr")):
        os.dup2(os.open(request[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
    if request["closed_stdout"]:  # a reader that went away, as `| head -1` does
        reader, writer = os.pipe()
        os.close(reader)
        os.dup2(writer, 1)
    torch.set_num_threads(1)
    if request["weights"]:
        srcli.checkpoints.manifest.weights_dir = lambda: __import__("pathlib").Path(request["weights"])
    if request["no_hard_links"]:  # as on FAT, exFAT or an SMB share
        def refuse(*args, **kwargs):
            raise OSError(1, "Operation not permitted")
        os.link = refuse
    code = 0
    try:
        srcli.cli.app(request["args"], prog_name="srcli")
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    except BaseException:
        import traceback
        traceback.print_exc()
        code = 99
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

print("ready", flush=True)
for line in sys.stdin:
    request = json.loads(line)
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        child(request)
    timed_out, interrupt_when = False, request["interrupt_when"]
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        elapsed = time.monotonic() - started
        if interrupt_when and os.path.exists(os.path.join(request["cwd"], interrupt_when)):
            os.kill(pid, signal.SIGINT)
            interrupt_when = None
        if elapsed > request["timeout"]:
            os.killpg(pid, signal.SIGKILL)
            done, status, usage = os.wait4(pid, 0)
            timed_out = True
            break
        time.sleep(0.002)
    code = os.waitstatus_to_exitcode(status)
    reply = {"status": code, "timed_out": timed_out, "peak_kb": usage.ru_maxrss, "seconds": time.monotonic() - started}
    print(json.dumps(reply), flush=True)
"""


@dataclass(frozen=True)
class Outcome:
    """What one command did: its exit status (negative: killed by that signal), its output, its cost."""

    status: int
    stdout: bytes
    stderr: str
    timed_out: bool
    peak_mb: float
    seconds: float

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()


class Sandbox:
    """A zygote process that runs srcli command lines in forked, limited children (see the module docstring)."""

    def __init__(self, root: Path = ROOT) -> None:
        """``root``: the source tree whose ``srcli`` the commands run (this one by default)."""
        environment = dict(os.environ, PYTHONPATH=str(root), COLUMNS="200", NO_COLOR="1", HF_HUB_OFFLINE="1")
        environment.pop("PYTEST_CURRENT_TEST", None)
        self.process = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=environment,
            cwd=root,
        )
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "ready"
        self.scratch = Path(tempfile.mkdtemp(prefix="srcli-sandbox-"))

    def run(
        self,
        args: list[str],
        cwd: Path,
        *,
        stdin: Path | None = None,
        timeout: float = 30.0,
        memory: int = 2 << 30,
        weights: Path | None = None,
        umask: int = 0o022,
        interrupt_when: str | None = None,
        no_hard_links: bool = False,
        closed_stdout: bool = False,
    ) -> Outcome:
        """Run ``srcli ARGS`` in ``cwd``; ``memory`` bytes of address space beyond the zygote's at most.

        ``weights`` stands in for the shipped weights folder; ``interrupt_when`` sends SIGINT once that
        path (relative to ``cwd``) exists; ``no_hard_links`` makes ``os.link`` fail as on FAT or SMB;
        ``closed_stdout`` makes stdout a pipe whose reader has gone.
        """
        out, err = self.scratch / "stdout", self.scratch / "stderr"
        request = {
            "args": [str(a) for a in args],
            "cwd": str(cwd),
            "stdin": str(stdin) if stdin else None,
            "stdout": str(out),
            "stderr": str(err),
            "timeout": timeout,
            "memory": memory,
            "weights": str(weights) if weights else None,
            "umask": umask,
            "interrupt_when": interrupt_when,
            "no_hard_links": no_hard_links,
            "closed_stdout": closed_stdout,
        }
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        reply = json.loads(self.process.stdout.readline())
        return Outcome(
            status=reply["status"],
            stdout=out.read_bytes(),
            stderr=err.read_text(errors="replace"),
            timed_out=reply["timed_out"],
            peak_mb=reply["peak_kb"] / 1024,
            seconds=reply["seconds"],
        )

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=120)  # a zygote at nice 19 on a loaded machine is slow to go
        for leftover in self.scratch.iterdir():
            leftover.unlink()
        self.scratch.rmdir()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
