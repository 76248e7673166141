"""Rubrics: the schema, compiled rubrics, and the evaluator that applies them."""
