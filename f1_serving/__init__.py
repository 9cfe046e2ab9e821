"""The REST API that serves the champion model's predictions."""
