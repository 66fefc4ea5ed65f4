"""MongoDB access shared by every process: one connection type, real or embedded."""

from service_kit.mongo.connection import Collection, Database, MongoConnection, connect, ping

__all__ = ["Collection", "Database", "MongoConnection", "connect", "ping"]
