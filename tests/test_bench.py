"""`make bench`'s pieces that need no wrk: the ceiling, the report, the docs section, the readers.

The benchmark itself is run by `make bench` (its figures are not test results); these check that
what it compares against and what it writes are what it says.
"""

import base64
import copy
import json
import time

import httpx

from benchmarks import bench
from benchmarks.ceiling import create_ceiling
from benchmarks.mixed import readers_of
from benchmarks.seed.graph import Sizes, generate, seed_users


async def test_the_ceiling_answers_each_path_with_exactly_the_captured_bytes():
    timeline = json.dumps({"items": [{"id": "a" * 24, "text": "héllo"}], "next_cursor": None})
    bodies = {
        "/query/v1/timeline": {
            "status": 200,
            "content_type": "application/json",
            "body": base64.b64encode(timeline.encode()).decode(),
        },
        "/query/v1/users/ada": {
            "status": 404,
            "content_type": "application/problem+json",
            "body": base64.b64encode(b'{"status": 404}').decode(),
        },
    }
    transport = httpx.ASGITransport(app=create_ceiling(bodies))
    async with httpx.AsyncClient(transport=transport, base_url="http://ceiling") as client:
        answer = await client.get("/query/v1/timeline?limit=20", headers={"Authorization": "x"})
        assert answer.status_code == 200
        assert answer.content == timeline.encode()
        assert answer.headers["content-type"] == "application/json"
        missing = await client.get("/query/v1/users/ada")
        assert (missing.status_code, missing.content) == (404, b'{"status": 404}')
        assert missing.headers["content-type"] == "application/problem+json"


def test_the_mixed_workload_signs_in_as_accounts_the_seeded_graph_has():
    plan = generate(Sizes(users=120, posts=10), 4)
    assert seed_users(120, 4) == plan.users
    readers = readers_of(plan.users)
    assert len(readers) == 50
    assert len(set(readers)) == 50
    assert set(readers) <= {user.handle for user in plan.users}


def a_measured_size(posts: int, timeline_rps: float) -> dict:
    wrk = {"rps": 100.0, "p50_ms": 10.0, "p99_ms": 30.0, "non_2xx": 0, "socket_errors": 0}
    wrk |= {"timeouts": 0}
    read = {"path": "/query/v1/explore?limit=20", "bytes": 5000, "items": 20, "ratio": 0.1}
    timeline = copy.deepcopy(read) | {"microblog": wrk | {"rps": timeline_rps}}
    timeline["ceiling"] = wrk | {"rps": 1000.0}
    shape = {
        "follows": 900,
        "max_followers": 80,
        "median_followers": 5,
        "top_1pct_follower_share": 0.2,
        "replies": 20,
        "likes": 200,
        "reposts": 10,
        "large_accounts": 3,
    }
    return {
        "posts": posts,
        "users": posts // 10,
        "status": "measured",
        "stack": {
            "seed": 1,
            "shape": shape,
            "fanout_max_followers": 60,
            "operations": 5000,
            "seed_seconds": 10.0,
            "seed_operations_per_second": 500.0,
        },
        "ready_after_seed_seconds": 2.0,
        "peak_rss_mib": 300.0,
        "reads": {"timeline": timeline},
        "mixed": wrk | {"users": 50, "connections": 50},
        "projection": {
            "probe_author_followers": [48, 52],
            "fixed_rate": {
                "rate_per_second": 10,
                "seconds": 10,
                "visible_p50_ms": 120.0,
                "visible_p99_ms": 400.0,
                "visible_max_ms": 410.0,
                "not_seen": 0,
                "posts": 100,
                "settle_seconds": 60,
            },
            "burst": {
                "posts": 1000,
                "concurrency": 8,
                "write_seconds": 5.0,
                "writes_per_second": 200.0,
                "newest_visible_after_last_write_ms": 900.0,
                "all_applied_after_last_write_ms": None,
                "changes_applied": 1000,
                "changes_per_second": None,
                "settle_seconds": 60,
            },
        },
    }


def results_of(*sizes: dict) -> dict:
    return {
        "machine": {
            "cpu": "Test CPU",
            "cores": 2,
            "memory": "24.0 GiB",
            "python": "3.11.7",
            "wrk": "wrk 4.1.0",
            "commit": "abc1234",
            "loadavg_at_start": [0.1, 0.1, 0.1],
        },
        "loadavg_at_end": [0.2, 0.1, 0.1],
        "finished_at": "2026-01-01 00:00 UTC",
        "seconds": 300.0,
        "note": "Provisional: loaded machine.",
        "commands": ["python -m benchmarks.bench --sizes 1000,10000"],
        "sizes": list(sizes),
        "companions": [{"path": "benchmarks/projector_throughput.py", "status": "absent"}],
    }


def test_the_report_states_machine_commands_ratios_and_the_growth_across_sizes():
    report = bench.render(
        results_of(
            a_measured_size(1000, 50.0),
            a_measured_size(10000, 25.0),
            {"posts": 100000, "users": 10000, "status": "seed-timeout", "stack": {}},
        )
    )
    assert "Test CPU, 2 cores, 24.0 GiB, Python 3.11.7" in report
    assert "python -m benchmarks.bench --sizes 1000,10000" in report
    assert "**Provisional: loaded machine.**" in report
    assert "| 0.050 |" in report, "the timeline's ratio: 50 rps against the ceiling's 1,000"
    assert "| timeline | 50.0 | 25.0 | 2.00 |" in report, "cost doubled from 1k to 10k posts"
    assert "100,000 posts, 10,000 users\n\nNot seeded within" in report
    assert "Not in this checkout yet." in report


def test_the_docs_section_is_replaced_in_place_and_the_rest_is_kept(tmp_path):
    docs = tmp_path / "performance.md"
    docs.write_text("# Performance\n\nHand-written text.\n")
    bench.write_docs(docs, "before", "first")
    bench.write_docs(docs, "current", "second")
    bench.write_docs(docs, "before", "third")
    text = docs.read_text()
    assert text.startswith("# Performance\n\nHand-written text.\n")
    assert "first" not in text
    assert text.count("<!-- make bench: before -->") == 1
    assert text.index("third") < text.index("second"), "a section stays where it was"


def test_companions_run_when_present_and_are_named_absent_otherwise(tmp_path, monkeypatch):
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "__init__.py").write_text("")
    (tmp_path / "extra" / "companion.py").write_text(
        "import json, sys\nprint(json.dumps({'changes_per_second': 1234, 'args': sys.argv[1:]}))\n"
    )
    monkeypatch.setattr(bench, "ROOT", tmp_path)
    monkeypatch.setattr(
        bench, "COMPANIONS", (("extra.companion", ("--quick",)), ("extra.missing", ()))
    )
    present, absent = bench.run_companions(deadline=time.monotonic() + 60)
    assert present["status"] == "ok"
    assert present["command"] == "python -m extra.companion --quick"
    assert present["result"] == {"changes_per_second": 1234, "args": ["--quick"]}
    assert absent == {"path": "extra/missing.py", "status": "absent"}


def test_the_benchmarked_stack_has_make_runs_demo_limits():
    from tests.test_seed import make_run_demo_limits

    limits = {name.upper(): value for name, value in make_run_demo_limits().items()}
    assert limits.items() <= bench.STACK_ENV.items()
