"""Bounded local benchmark: a sign-in flood and a large body against one gateway process.

    python benchmarks/flood.py --pid PID [--base-url http://127.0.0.1:8080] [--sign-ins 300]

It only talks to 127.0.0.1, sends a fixed number of requests and gives up after --deadline
seconds. It reports the process's peak memory (VmHWM from /proc), the latency of an unrelated
read (GET /query/v1/users/{handle}) sampled while the flood runs, and what a 17 MB body of unknown
keys costs. Start the gateway with the production Argon2 cost (the defaults) first.
"""

import argparse
import asyncio
import json
import statistics
import sys
import time
from urllib.parse import urlsplit

import httpx

PASSWORD = "correct horse battery staple"  # noqa: S105 (a benchmark account)


def memory_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not found for pid {pid}")


async def probe_reads(client: httpx.AsyncClient, path: str, stop: asyncio.Event) -> list[float]:
    latencies = []
    while not stop.is_set():
        started = time.perf_counter()
        await client.get(path)
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(0.05)
    return latencies


async def raw_post(base_url: str, path: str, body: bytes) -> tuple[int, int]:
    """POST over a plain socket. The headers go first: a server that refuses the body from its
    Content-Length alone answers before the body is sent (which is then not sent at all)."""
    url = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode())
    await writer.drain()
    try:
        answer = await asyncio.wait_for(reader.read(), 1.0)
    except TimeoutError:
        writer.write(body)
        await writer.drain()
        answer = await reader.read()
    writer.close()
    status = int(answer.split(b" ", 2)[1]) if answer else 0
    body_bytes = len(answer.split(b"\r\n\r\n", 1)[1]) if b"\r\n\r\n" in answer else 0
    return status, body_bytes


async def flood(args: argparse.Namespace) -> dict[str, object]:
    limits = httpx.Limits(max_connections=args.sign_ins + 10)
    timeout = httpx.Timeout(args.deadline)
    async with httpx.AsyncClient(base_url=args.base_url, limits=limits, timeout=timeout) as client:
        handle = f"bench{int(time.time())}"
        created = await client.post(
            "/command/v1/users",
            json={"handle": handle, "password": PASSWORD, "display_name": "Bench"},
        )
        assert created.status_code == 201, created.text
        read_path = f"/query/v1/users/{handle}"
        for _ in range(100):  # wait until the projector has the user
            if (await client.get(read_path)).status_code == 200:
                break
            await asyncio.sleep(0.1)
        baseline = [(await client.get(read_path)).elapsed.total_seconds() for _ in range(20)]
        rss_before = memory_kib(args.pid, "VmRSS")

        stop = asyncio.Event()
        prober = asyncio.create_task(probe_reads(client, read_path, stop))
        started = time.perf_counter()
        attempts = [
            client.post(
                "/command/v1/sessions", json={"handle": f"ghost{i}", "password": "wrong-password"}
            )
            for i in range(args.sign_ins)
        ]
        results = await asyncio.wait_for(
            asyncio.gather(*attempts, return_exceptions=True), args.deadline
        )
        flood_seconds = time.perf_counter() - started
        stop.set()
        during = await prober
        statuses: dict[str, int] = {}
        for result in results:
            key = str(result.status_code) if isinstance(result, httpx.Response) else "error"
            statuses[key] = statuses.get(key, 0) + 1
        peak_after_flood = memory_kib(args.pid, "VmHWM")

        # A 17 MB body of unknown keys (what the issue measured).
        big = json.dumps({f"k{i}": i for i in range(args.big_keys)}).encode()
        started = time.perf_counter()
        status, answer_bytes = await raw_post(args.base_url, "/command/v1/users", big)
        big_seconds = time.perf_counter() - started
        return {
            "sign_ins": args.sign_ins,
            "sign_in_statuses": statuses,
            "flood_seconds": round(flood_seconds, 2),
            "rss_before_mib": round(rss_before / 1024),
            "peak_rss_mib": round(peak_after_flood / 1024),
            "read_baseline_ms_median": round(statistics.median(baseline) * 1000, 1),
            "read_during_flood_ms_median": round(statistics.median(during) * 1000, 1),
            "read_during_flood_ms_max": round(max(during) * 1000, 1),
            "read_samples_during_flood": len(during),
            "big_body_bytes": len(big),
            "big_body_status": status,
            "big_body_response_bytes": answer_bytes,
            "big_body_seconds": round(big_seconds, 2),
            "peak_rss_mib_after_big_body": round(memory_kib(args.pid, "VmHWM") / 1024),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8080")
    parser.add_argument("--pid", type=int, required=True, help="the gateway process to measure")
    parser.add_argument("--sign-ins", type=int, default=300)
    parser.add_argument("--big-keys", type=int, default=1_000_000)
    parser.add_argument("--deadline", type=float, default=180.0)
    args = parser.parse_args()
    if urlsplit(args.base_url).hostname != "127.0.0.1":
        sys.exit("benchmarks/flood.py only targets 127.0.0.1")
    if not 1 <= args.sign_ins <= 1000 or not 1 <= args.big_keys <= 2_000_000:
        sys.exit("--sign-ins is 1-1000 and --big-keys 1-2000000")
    print(json.dumps(asyncio.run(flood(args)), indent=2))


if __name__ == "__main__":
    main()
