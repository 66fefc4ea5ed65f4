"""The projector: follows the write model's change stream and keeps the read models in sync."""
