"""Free-practice results: the bundled F1DB snapshot, the live F1DB source, and their cleaning."""
