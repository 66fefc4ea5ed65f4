"""Harnesses that run the real services' code under adverse conditions and report figures."""
