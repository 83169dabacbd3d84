"""Records: arrives with its issue."""
