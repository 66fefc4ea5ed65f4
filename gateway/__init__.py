"""The local gateway on 127.0.0.1:8080: routes /command and /query exactly as the Ingress does.

Embedded mode hosts the command service, query service and projector in this one process (they
must share the in-memory store); with MONGODB_URI set it proxies to the three separate processes.
"""
