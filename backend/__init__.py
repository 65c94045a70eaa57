"""FastAPI service: loads checkpoints and serves spike maps, selectivity maps and lesions."""
