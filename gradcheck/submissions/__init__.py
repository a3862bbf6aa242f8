"""Check whole submissions in one command: ``gradcheck check DIR [DIR...]``.

The course's classes are found in each submission's source (:func:`discover`, without importing it), each is
checked as its built-in kind in a process of its own with a timeout (:func:`check_submissions`), and the verdicts
make one table (:func:`render`: text, Markdown, JSON, JUnit XML).
"""

from __future__ import annotations

from gradcheck.submissions.batch import Row, check_submissions, check_target
from gradcheck.submissions.discover import Submission, Target, discover, submissions_in
from gradcheck.submissions.report import render

__all__ = ["Row", "Submission", "Target", "check_submissions", "check_target", "discover", "render", "submissions_in"]
