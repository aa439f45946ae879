"""One module per user-facing area, each defining ``bp``."""
