"""The query service: every read, answered from denormalized read models only."""
