"""The HTTP API: a fast decision path in front of a FastAPI app for everything else."""
