"""Find what to check in a submission: the course's class names, read from the source without importing it.

A submission's code is never imported by the process that collects it (an import runs the student's top-level
code: an infinite loop, ``sys.exit``, a crash); the classes are read with :mod:`ast`. A class named as in the
course (``LinearModule``, ``CustomBatchNormManualFunction``, …) is matched to the built-in kind of that name whose
protocol fits its bases (``torch.autograd.Function``, ``nn.Module``, or neither: a NumPy module); a course name
without such a kind is listed as not checked.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

__all__ = ["COURSE_NAMES_WITHOUT_KIND", "Submission", "Target", "course_kinds", "discover", "submissions_in"]

#: Course class names that no built-in kind covers: listed as "not checked" when found.
COURSE_NAMES_WITHOUT_KIND = ("ConvNet", "PreActResNetBlock", "VGGNet")

_SKIP_DIRS = {"__pycache__", ".git", ".venv", "venv", "tests", "test", ".ipynb_checkpoints"}


@dataclass(frozen=True)
class Target:
    """One class of a submission and the kind it is checked as (``kind`` is None when it is not checked)."""

    submission: str
    path: Path
    cls: str
    kind: str | None
    reason: str = ""  # why it is not checked, or why the submission could not be read

    @property
    def spec(self) -> str:
        """``path/to/file.py:ClassName`` as ``gradcheck check`` loads it."""
        return f"{self.path}:{self.cls}"


@dataclass(frozen=True)
class Submission:
    """A directory of one student's files and the targets found in it."""

    name: str
    root: Path
    targets: tuple[Target, ...]


def course_kinds() -> dict[str, dict[str, str]]:
    """Course class name → {protocol: kind}, from the built-in kinds' ``builtin`` entries."""
    from gradcheck.kinds import KINDS, get_kind

    get_kind("relu")  # loads the declarations
    table: dict[str, dict[str, str]] = {}
    for kind in KINDS.values():
        for spec in kind.builtin:
            name = spec.rpartition(":")[2]
            protocol = "numpy" if kind.protocol in ("numpy", "numpy_loss") else kind.protocol
            table.setdefault(name, {}).setdefault(protocol, kind.name)
    return table


def _torch_names(tree: ast.Module) -> set[str]:
    """Names bound by ``from torch... import X`` in the file (``Module``, ``Function``, ``nn``)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "torch":
            names.update(a.asname or a.name for a in node.names)
    return names


def _protocols(tree: ast.Module) -> dict[str, str]:
    """Each top-level class's protocol, by its bases: ``function`` (an autograd.Function), ``module`` (an
    nn.Module), ``numpy``, or ``unknown`` (a base imported from elsewhere); a base defined in the same file passes
    its protocol on."""
    torch_names = _torch_names(tree)
    found: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        protocol = "numpy"
        for base in node.bases:
            text = ast.unparse(base)
            last = text.rsplit(".", 1)[-1]
            torch_qualified = "." in text and (text.startswith(("torch.", "nn.", "autograd.")) or last in found)
            if last in ("Function", "InplaceFunction") and (torch_qualified or last in torch_names):
                protocol = "function"
            elif last in ("Module", "Sequential", "ModuleList") and (torch_qualified or last in torch_names):
                protocol = "module"
            elif text in found:
                protocol = found[text]
            elif text not in ("object", "ABC", "Protocol"):
                protocol = "unknown"  # a base from another module: decided by the course name's kind
        found[node.name] = protocol
    return found


_PROTOCOL_WORDS = {"numpy": "a NumPy module", "function": "a torch.autograd.Function", "module": "a torch.nn.Module"}


def _python_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    files = []
    for path in sorted(root.rglob("*.py")):
        parts = set(path.relative_to(root).parts[:-1])
        if not parts & _SKIP_DIRS and not path.name.startswith("test_"):
            files.append(path)
    return files


def discover(root: Path, name: str | None = None) -> Submission:
    """The targets of the submission at ``root`` (a directory, or one file)."""
    name = name or root.name
    table = course_kinds()
    course = set(table) | set(COURSE_NAMES_WITHOUT_KIND)
    targets: list[Target] = []
    seen: set[str] = set()
    for path in _python_files(root):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"), filename=str(path))
        except SyntaxError as exc:
            where = f"{path.name}:{exc.lineno}"
            targets.append(Target(name, path, "-", None, f"error: SyntaxError at {where}: {exc.msg}"))
            continue
        protocols = _protocols(tree)
        for node in tree.body:
            if not isinstance(node, ast.ClassDef) or node.name not in course or node.name in seen:
                continue
            seen.add(node.name)
            protocol = protocols[node.name]
            kinds = table.get(node.name, {})
            if protocol == "unknown":
                protocol = next(iter(kinds)) if len(kinds) == 1 else "numpy"
            kind = kinds.get(protocol)
            reason = "" if kind else f"not checked: no built-in kind for {node.name} as {_PROTOCOL_WORDS[protocol]}"
            targets.append(Target(name, path, node.name, kind, reason))
    return Submission(name, root, tuple(targets))


def submissions_in(dirs: list[Path]) -> list[Submission]:
    """Each directory holding Python files directly is a submission; otherwise each of its subdirectories is."""
    found = []
    for d in dirs:
        if d.is_file() or any(p.suffix == ".py" for p in d.iterdir() if p.is_file()):
            found.append(discover(d))
            continue
        found.extend(discover(sub) for sub in sorted(d.iterdir()) if sub.is_dir() and sub.name not in _SKIP_DIRS)
    return found
