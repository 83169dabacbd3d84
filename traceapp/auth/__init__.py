"""Auth: arrives with its issue."""
