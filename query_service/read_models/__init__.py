"""Read models: documents shaped for the API, written only by the projector.

One module per read model holds everything about it: its collection and document shape, its
indexes, its projection (the write side, run by the projector) and its queries (the read side,
run by the query service). `registry` lists them in the order the projector applies them.
"""
