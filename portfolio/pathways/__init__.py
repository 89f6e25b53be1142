"""Pathways: stacked credentials earned by holding other badges."""
