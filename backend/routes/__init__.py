"""API routes: models, spikes, and analysis (maps and lesions)."""
