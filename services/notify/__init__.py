"""The notify service: tells the reporter, representative, office and department what happened."""
