"""The monitoring report: what the warehouse's monitoring tables say, as one HTML page per run."""
