"""The work behind each CLI sub-command, kept apart from argument parsing."""
