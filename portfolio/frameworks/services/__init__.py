"""Rules for frameworks, competencies and rubrics: who may change what, and versioning.

Every change goes through a function here that takes the acting user. Modules: `frameworks`
(a framework and who administers it), `tree` (reading the competency tree), `competencies`
(one competency: its pages, adding, changing, deleting) and `rubrics` (rubrics, versions,
publishing).
"""
