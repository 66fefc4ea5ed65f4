"""Read models: documents shaped for the API, written only by the projector."""
