"""Which projector replica projects: one leader at a time, elected through a lease.

`election.py` holds the timing rules and the loop; `mongo_lease.py` and `kubernetes_lease.py` are
the two places the lease record can live; `fencing.py` makes the projector's database refuse
writes after the lease deadline. `PROJECTOR_LEADER_ELECTION=none` (the default) runs no election:
one replica, always projecting.
"""

from query_service.projector.leadership.election import (
    Fence,
    LeaderElection,
    LeadershipLost,
    LeaseConflict,
    LeaseRecord,
    LeaseStore,
)
from query_service.projector.leadership.fencing import fenced
from query_service.projector.leadership.kubernetes_lease import KubernetesLease
from query_service.projector.leadership.mongo_lease import PROJECTOR_LEASES, MongoLease
from service_kit.mongo import Database
from service_kit.settings import Settings

__all__ = [
    "PROJECTOR_LEASES",
    "Fence",
    "KubernetesLease",
    "LeaderElection",
    "LeadershipLost",
    "LeaseConflict",
    "LeaseRecord",
    "LeaseStore",
    "MongoLease",
    "fenced",
    "leader_election",
]


def leader_election(settings: Settings, database: Database) -> LeaderElection | None:
    """The election the settings ask for, or None for a single replica."""
    store: LeaseStore
    if settings.projector_leader_election == "none":
        return None
    if settings.projector_leader_election == "kubernetes":
        store = KubernetesLease.in_cluster(
            settings.projector_lease_name,
            settings.pod_namespace,
            request_timeout=settings.projector_lease_renew_seconds,
        )
    else:
        store = MongoLease(database, settings.projector_lease_name)
    return LeaderElection(
        store,
        settings.projector_identity,
        lease_seconds=settings.projector_lease_seconds,
        renew_seconds=settings.projector_lease_renew_seconds,
    )
