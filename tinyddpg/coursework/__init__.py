"""Coursework tools: check a student's layer, hand out an assignment, grade it."""
