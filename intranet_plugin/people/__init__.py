"""People in the programme: joining and leaving, their preferences, their own data."""
