"""cuda transforms."""
