"""build transforms."""
