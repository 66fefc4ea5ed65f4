"""The client's IP address, as rate limits must see it.

Behind the Ingress every connection comes from the proxy, so the client is named in
X-Forwarded-For. That header is believed only when the connection itself comes from a configured
trusted proxy (TRUSTED_PROXIES); otherwise anyone calling a pod directly could claim any address.
"""

import ipaddress
from functools import lru_cache

from starlette.requests import HTTPConnection

from service_kit.settings import split_list

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def trusted_networks(setting: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in split_list(setting))


def _is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(connection: HTTPConnection, trusted_proxies: str) -> str:
    peer = connection.client.host if connection.client else "unknown"
    networks = trusted_networks(trusted_proxies)
    if not networks or not _is_trusted(peer, networks):
        return peer
    hops = [
        hop.strip()
        for header in connection.headers.getlist("x-forwarded-for")
        for hop in header.split(",")
        if hop.strip()
    ]
    # Walk from the nearest hop back: the first address not of a trusted proxy is the client.
    # Anything left of it was written by the client and proves nothing.
    for hop in reversed(hops):
        if not _is_trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage from a trusted proxy's client: fall back to the proxy
    return peer
