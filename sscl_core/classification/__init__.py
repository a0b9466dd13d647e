"""Classification, the built-in problem kind: a backbone with a linear head, and accuracy under task-IL and
class-IL masking. Built on the same interfaces (:class:`~sscl_core.model.Model`,
:class:`~sscl_core.evaluator.Evaluator`) that a plugin adding another problem kind implements."""

PROBLEM = "classification"
"""The name streams and methods use for this problem kind."""
