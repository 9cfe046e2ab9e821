"""The `f1-predict` command: run the pipeline, read its predictions, start the UIs and the API."""
