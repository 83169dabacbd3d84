"""Api: arrives with its issue."""
