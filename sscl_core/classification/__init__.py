"""Classification, the built-in problem kind (a backbone with a linear head; accuracy under task-IL and class-IL
masking), built on the interfaces a plugin adding another kind implements."""

PROBLEM = "classification"
"""The name streams and methods use for this problem kind."""
