"""What a person runs: the command line, the review sheet, the demo and the bench."""
