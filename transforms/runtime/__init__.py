"""runtime transforms."""
