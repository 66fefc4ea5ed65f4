"""The use cases of the write side. API handlers call these; these call the write model."""
