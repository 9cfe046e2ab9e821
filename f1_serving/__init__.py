"""The REST API that serves the champion model's predictions (built in the serving milestone)."""
