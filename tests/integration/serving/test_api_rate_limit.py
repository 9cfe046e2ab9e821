"""100 requests a minute per user: headers, 429, the budget shared through the real Redis by two app instances,
and what happens when Redis is down."""

import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from fastapi.testclient import TestClient

from f1_serving.guards.rate_limit import REDIS_DEGRADED, InProcessRateLimiter, RedisRateLimiter
from tests.api_support import api_client, api_settings, bearer, register, stopped_clock
from tests.local_server import free_port


def _me(client: TestClient, token: str):
    return client.get("/api/v1/users/me", headers=bearer(token))


def test_the_limit_counts_down_then_answers_429_with_retry_after(tmp_path):
    with api_client(api_settings(tmp_path, rate_limit_per_minute=5)) as client:
        token, other = register(client), register(client)
        remaining = []
        for _ in range(5):
            response = _me(client, token)
            assert response.status_code == 200
            assert response.headers["x-ratelimit-limit"] == "5"
            remaining.append(int(response.headers["x-ratelimit-remaining"]))
        assert remaining == [4, 3, 2, 1, 0]
        refused = _me(client, token)
        assert refused.status_code == 429
        assert refused.json()["error_code"] == "rate_limited"
        assert refused.headers["x-ratelimit-remaining"] == "0"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert _me(client, other).status_code == 200, "another user's budget is his own"


def test_two_app_instances_share_one_budget_through_redis(tmp_path, redis_url):
    settings = api_settings(tmp_path, rate_limit_per_minute=6, redis_url=redis_url)
    clock = stopped_clock()
    with api_client(settings, clock) as first, api_client(settings, clock) as second:
        token = register(first)
        statuses = [(_me(first if i % 2 else second, token)) for i in range(6)]
        assert [int(r.headers["x-ratelimit-remaining"]) for r in statuses] == [5, 4, 3, 2, 1, 0]
        assert _me(first, token).status_code == 429
        assert _me(second, token).status_code == 429
        assert all("x-serving-degraded" not in r.headers for r in statuses)


def test_with_redis_down_requests_are_counted_per_process_and_the_response_says_so(tmp_path):
    settings = api_settings(tmp_path, rate_limit_per_minute=3, redis_url="redis://127.0.0.1:1/0")
    with api_client(settings) as client:
        token = register(client)
        answered = [_me(client, token) for _ in range(3)]
        assert [r.status_code for r in answered] == [200, 200, 200]
        assert all(r.headers["x-serving-degraded"] == REDIS_DEGRADED for r in answered)
        assert _me(client, token).status_code == 429


def test_login_attempts_are_limited_per_client_address(tmp_path):
    with api_client(api_settings(tmp_path, rate_limit_per_minute=3)) as client:
        body = {"email": "nobody@example.org", "password": "Wr0ngPassword"}
        codes = [client.post("/api/v1/auth/login", json=body).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]


async def test_a_new_window_starts_a_new_budget():
    now = [600.0]
    limiter = InProcessRateLimiter(clock=lambda: now[0])
    assert [(await limiter.hit("u", 2)).allowed for _ in range(3)] == [True, True, False]
    now[0] = 660.0
    status = await limiter.hit("u", 2)
    assert status.allowed and status.remaining == 1 and status.reset_seconds == 60


async def test_redis_limiter_counts_in_redis_and_expires_its_keys(redis_url):
    prefix = f"f1:test:{uuid.uuid4().hex}"
    limiter = RedisRateLimiter(redis_url, prefix=prefix, clock=lambda: 1200.0)
    try:
        assert [(await limiter.hit("u", 2)).remaining for _ in range(3)] == [1, 0, 0]
        ttl = await limiter._redis.ttl(f"{prefix}:u:20")
        assert 0 < ttl <= 61
    finally:
        await limiter.aclose()


@contextmanager
def own_redis(port: int) -> Iterator[subprocess.Popen]:
    """A redis-server of this test's own on `port`, without persistence (as a restarted one would come back empty);
    the machine's Redis, which other tests share, is never touched."""
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield server
    finally:
        server.kill()
        server.wait()


def test_redis_killed_mid_minute_and_restarted_empty_does_not_reset_the_shared_budget(tmp_path):
    port = free_port()
    budget = 20
    settings = api_settings(
        tmp_path, rate_limit_per_minute=budget, redis_url=f"redis://127.0.0.1:{port}/0", api_replicas=2
    )
    now = [float(int(time.time()) // 60 * 60 + 1)]  # the first second of a minute; moved by hand below
    with (
        own_redis(port) as server,
        api_client(settings, lambda: now[0]) as first,
        api_client(settings, lambda: now[0]) as second,
    ):
        token = register(first)
        replicas = [first, second]
        before = [_me(replicas[i % 2], token).status_code for i in range(8)]
        assert before == [200] * 8
        server.kill()  # mid-minute: 8 of the 20 requests counted in Redis
        server.wait()
        during = [_me(replicas[i % 2], token) for i in range(30)]
        admitted = sum(response.status_code == 200 for response in during)
        assert all(response.headers["x-serving-degraded"] == REDIS_DEGRADED for response in during)
        with own_redis(port):  # back, empty, within the same minute, past the limiter's retry delay
            now[0] += 10
            after = [_me(replicas[i % 2], token).status_code for i in range(10)]
    assert 8 + admitted <= budget + 1  # the documented bound: the budget, plus at most one request per replica
    assert after == [429] * 10  # the carried counts outweigh the restarted Redis's zero
