"""MLflow adapters: the pyfunc wrapper of a trained model, tracking runs and the registry's champion alias."""
