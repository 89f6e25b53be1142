"""Reports for issuer admins: the review queue, time to decision, pass rates per credential and
per attempt, and where workers land below the passing level on each rubric element."""
