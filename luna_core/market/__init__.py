"""Day-ahead market prices: sources (simulated, CSV) and the idempotent store."""
