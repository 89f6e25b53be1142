"""Credentials: the catalogue of what a worker can earn (badge classes / OB 3.0 achievements),
their images, alignments to competencies, and the public catalogue pages."""
