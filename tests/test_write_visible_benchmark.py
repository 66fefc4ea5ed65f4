"""benchmarks/write_visible.py reads the projector's histogram as Prometheus would: the difference
of two scrapes, and quantiles interpolated within buckets like histogram_quantile."""

import math
from datetime import UTC, datetime

import pytest
from prometheus_client import generate_latest

from benchmarks.write_visible import difference, quantile, read_histograms, summary
from query_service.projector.metrics import ProjectorMetrics


def test_quantiles_are_interpolated_within_their_bucket_as_histogram_quantile_does():
    buckets = {0.1: 0.0, 0.5: 50.0, 1.0: 100.0, math.inf: 100.0}
    assert quantile(0.5, buckets) == pytest.approx(0.5)
    assert quantile(0.25, buckets) == pytest.approx(0.3)  # halfway through (0.1, 0.5]
    assert quantile(0.99, buckets) == pytest.approx(0.99)
    assert quantile(0.99, {1.0: 0.0, math.inf: 10.0}) == 1.0  # in +Inf: the highest bound
    assert quantile(0.5, {1.0: 0.0, math.inf: 0.0}) is None


def test_a_run_is_the_difference_of_the_scrapes_around_it():
    now = [1000.0]
    metrics = ProjectorMetrics(clock=lambda: now[0])
    post = {"operationType": "insert", "ns": {"coll": "posts"}}
    written = {**post, "wallTime": datetime.fromtimestamp(999.99, UTC)}
    metrics.visible(written)  # 0.01 s, before the run
    before, _ = read_histograms(generate_latest(metrics.registry).decode())
    now[0] = 1002.0
    metrics.visible({**written, "wallTime": datetime.fromtimestamp(1001.8, UTC)})  # 0.2 s
    metrics.visible({**written, "wallTime": datetime.fromtimestamp(1000.0, UTC)})  # 2 s
    after, lag = read_histograms(generate_latest(metrics.registry).decode())

    run = summary(difference(after, before))
    assert lag == 0
    assert list(run) == ["posts.insert"]
    assert run["posts.insert"]["count"] == 2
    assert run["posts.insert"]["mean_seconds"] == pytest.approx(1.1)
    assert run["posts.insert"]["buckets"]["0.01"] == 0
    assert run["posts.insert"]["buckets"]["0.25"] == 1
    assert run["posts.insert"]["buckets"]["2.5"] == 2
    assert run["posts.insert"]["p50_seconds"] == pytest.approx(0.25)


def test_make_bench_reports_the_projectors_histogram_when_a_run_has_it():
    from benchmarks.bench import _projector_histogram

    figures = {"count": 1200, "mean_seconds": 0.0123, "p50_seconds": 0.008, "p99_seconds": 0.0456}
    [line] = _projector_histogram("Those posts", {"projector": figures})
    assert "p50 8.0 ms, p99 45.6 ms, mean 12.3 ms over 1,200 posts" in line
    assert _projector_histogram("Those posts", {}) == []  # results saved before it existed
