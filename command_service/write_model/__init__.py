"""Data access for the write model: the only module tree that calls the driver for writes."""
