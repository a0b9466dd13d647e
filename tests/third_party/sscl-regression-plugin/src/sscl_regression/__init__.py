"""Regression as an sscl problem kind: a stream whose targets are numbers, its model and its evaluator."""

PROBLEM = "regression"
