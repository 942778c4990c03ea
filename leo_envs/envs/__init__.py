"""The environments. They know nothing of torch."""
