"""What the command line shows: the writer every command prints through (`say`), and the text of its outputs."""
