"""Check every target of every submission, each in its own process with a timeout.

Each target runs as ``python -m gradcheck check KIND FILE:CLASS --format json`` in a fresh process (its own
session, so that a timeout kills whatever it started): an infinite loop, a crash, an import error or a
``sys.exit`` in one submission ends that process only, and is recorded as that target's verdict. The processes
run ``jobs`` at a time; the parent never imports a submission.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from typing import Any

from gradcheck.submissions.discover import Submission, Target

__all__ = ["STATUSES", "Row", "check_submissions", "check_target", "command", "run_target"]

#: The verdict of one submission × kind: the checklist's, or what stopped it.
STATUSES = ("pass", "warn", "fail", "error", "timeout", "not checked")


@dataclass(frozen=True)
class Row:
    """One cell of the table: a submission's class checked as a kind, its verdict and the first failing property."""

    submission: str
    cls: str
    kind: str | None
    status: str  # one of STATUSES
    prop: str = ""  # the first property that failed (or warned, for a warn)
    reason: str = ""  # its one-line reason, or what stopped the check
    file: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def command(target: Target, *, seed: int, profile: str | None, max_examples: int | None) -> list[str]:
    """The command line that checks ``target`` in a fresh interpreter."""
    assert target.kind is not None
    cmd = [sys.executable, "-m", "gradcheck", "check", target.kind, f"{target.path.resolve()}:{target.cls}"]
    cmd += ["--format", "json", "--seed", str(seed)]
    if profile:
        cmd += ["--profile", profile]
    if max_examples is not None:
        cmd += ["--max-examples", str(max_examples)]
    return cmd


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _one_line(prop: dict[str, Any]) -> str:
    """The reason a property did not pass, in one line (from its rendered message, else its records)."""
    message = str(prop.get("message") or "")
    line = _first_line(message) or _first_line(str(prop.get("reason") or ""))
    # The diagnosis, else the greatest difference, says more than the heading alone.
    extra = [x.strip() for x in message.splitlines() if x.strip().startswith(("diagnosis:", "greatest absolute"))]
    if line:
        return (f"{line}; {extra[-1]}" if extra else line)[:300]
    fault = prop.get("fault")
    if fault:
        where = f" ({os.path.basename(str(fault.get('file')))}:{fault.get('line')})" if fault.get("file") else ""
        return f"{fault.get('exc_type')}: {fault.get('message')}{where}"[:200]
    for f in prop.get("findings") or []:
        return str(f.get("observed", ""))[:200]
    for d in prop.get("details") or []:
        if d.get("status") not in ("pass", "kink", "skip"):
            return f"{' → '.join(d.get('location', []))}: off by {d.get('max_abs_err'):.3g}"[:200]
    return prop.get("status", "")


def _from_json(target: Target, data: dict[str, Any], seconds: float) -> Row:
    verdict = str(data.get("verdict") or ("pass" if data.get("passed") else "fail"))
    props = data.get("properties", [])
    wanted = ("fail", "error") if verdict in ("fail", "error") else (verdict,)
    first = next((p for p in props if p.get("status") in wanted), None)
    prop, reason = (first["name"], _one_line(first)) if first and verdict != "pass" else ("", "")
    return Row(target.submission, target.cls, target.kind, verdict, prop, reason, str(target.path), seconds)


def _stopped(target: Target, code: int, stderr: str, seconds: float) -> Row:
    """A process that gave no report: a usage error (exit 2: the file does not import), a crash or an exit."""
    if code < 0:
        try:
            what = f"crashed: signal {signal.Signals(-code).name}"
        except ValueError:
            what = f"crashed: signal {-code}"
    else:
        what = f"exit status {code}"
    last = [line.strip() for line in stderr.splitlines() if line.strip()]
    detail = last[-1].removeprefix("gradcheck: error: ") if last else ""
    reason = detail if code == 2 and detail else f"{what}" + (f": {detail}" if detail else "")
    return Row(target.submission, target.cls, target.kind, "error", "", reason[:300], str(target.path), seconds)


def check_target(
    target: Target, *, timeout: float, seed: int = 0, profile: str | None = None, max_examples: int | None = None
) -> Row:
    """Check one target in a fresh process; never raises for anything the submission does."""
    return run_target(target, timeout=timeout, seed=seed, profile=profile, max_examples=max_examples)[0]


def run_target(
    target: Target, *, timeout: float, seed: int = 0, profile: str | None = None, max_examples: int | None = None
) -> tuple[Row, dict[str, Any] | None]:
    """The row of ``target`` and the checklist's JSON report (None when the process gave none)."""
    if target.kind is None:
        status = "error" if target.reason.startswith("error") else "not checked"
        reason = target.reason.removeprefix("error: ").removeprefix("not checked: ")
        return Row(target.submission, target.cls, None, status, "", reason, str(target.path)), None
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen(
        command(target, seed=seed, profile=profile, max_examples=max_examples),
        cwd=target.path.parent,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # a process group of its own: a timeout kills what it started too
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        reason = f"no verdict within {timeout:g} s (an infinite loop, or a very slow layer)"
        return Row(target.submission, target.cls, target.kind, "timeout", "", reason, str(target.path), timeout), None
    seconds = time.perf_counter() - start
    if proc.returncode in (0, 1):
        try:
            data = json.loads(out)
            return _from_json(target, data, seconds), data
        except (json.JSONDecodeError, TypeError, KeyError, AttributeError):
            pass  # output corrupted (the layer wrote to the real stdout): reported as an error below
    return _stopped(target, proc.returncode, err or out, seconds), None


def _kill(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.communicate()


def check_submissions(
    submissions: Iterable[Submission],
    *,
    jobs: int = 1,
    timeout: float = 300.0,
    seed: int = 0,
    profile: str | None = None,
    max_examples: int | None = None,
    on_done: Callable[[Row], None] | None = None,
) -> list[Row]:
    """Every target of every submission checked, ``jobs`` processes at a time; rows in submission order."""
    targets = [t for s in submissions for t in s.targets]
    rows: dict[int, Row] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {
            pool.submit(check_target, t, timeout=timeout, seed=seed, profile=profile, max_examples=max_examples): i
            for i, t in enumerate(targets)
        }
        for future in as_completed(futures):
            row = future.result()
            rows[futures[future]] = row
            if on_done:
                on_done(row)
    return [rows[i] for i in range(len(targets))]
