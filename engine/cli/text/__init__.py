"""What the command line shows: every piece of text `bwc` prints is made in this package."""
