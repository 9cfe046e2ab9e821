"""Free-practice results: the bundled F1DB copy, the live F1DB source, and their cleaning."""
