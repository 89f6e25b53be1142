"""Competency frameworks and competencies, rubrics and their versions, CASE/CSV exchange."""
