"""Tooling behind `make manifests` and `make k8s-check`: renders k8s/ from the chart and checks
what the deployment tools report. Not part of the images (not a wheel package)."""
