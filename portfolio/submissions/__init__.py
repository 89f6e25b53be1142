"""Submissions: evidence mapped to rubric elements, the review queue, claims, reviews, scores."""
