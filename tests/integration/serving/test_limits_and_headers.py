"""The probes of an outside security review, kept: budgets per address over every request, forwarded headers
trusted only from configured proxies, security headers on every response, no slash redirect, header size limits,
the `Allow` header of a 405, readiness without internal details for anonymous callers, the development-secret
warning."""

import logging

import pytest
from fastapi.testclient import TestClient

from f1_pipeline.cli import servers
from f1_pipeline.settings import REPO_ROOT
from f1_serving.guards.client_address import client_address
from f1_serving.main import create_app
from f1_serving.settings import ApiSettings
from tests.api_support import api_client, api_settings, bearer, new_email, register

API = "/api/v1"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    settings = api_settings(
        tmp_path_factory.mktemp("probes"),
        rate_limit_per_minute=100_000,
        client_rate_limit_per_minute=100_000,
        operator_token="operator-secret-for-tests",
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_one_address_has_one_budget_however_many_accounts_and_tokens_it_uses(tmp_path):
    settings = api_settings(tmp_path, rate_limit_per_minute=1_000, client_rate_limit_per_minute=12)
    with api_client(settings) as client:
        tokens = [register(client) for _ in range(3)]
        answered = [client.get(f"{API}/users/me", headers=bearer(token)).status_code for token in tokens]
        answered += [client.get(f"{API}/users/me", headers=bearer("forged.token.value")).status_code for _ in range(3)]
        answered += [client.get(f"{API}/users/me").status_code, client.get(f"{API}/nothing-here").status_code]
        assert answered == [200, 200, 200, 401, 401, 401, 401, 404]
        assert client.get(f"{API}/users/me", headers=bearer(tokens[0])).status_code == 200  # the 12th request
        refused = client.get(f"{API}/users/me", headers=bearer(tokens[1]))
        assert refused.status_code == 429 and refused.json()["error_code"] == "rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 60 and refused.headers["x-ratelimit-remaining"] == "0"
        assert client.get(f"{API}/health").status_code == 429, "every path counts"
        other = TestClient(client.app, client=("192.0.2.7", 4000))
        assert other.get(f"{API}/health").status_code == 200, "another address has its own budget"


def test_a_forged_forwarded_for_does_not_reset_the_login_budget(tmp_path):
    with api_client(api_settings(tmp_path, rate_limit_per_minute=3)) as client:
        body = {"email": "nobody@example.org", "password": "Wr0ngPassword"}
        codes = [
            client.post(f"{API}/auth/login", json=body, headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
            for i in range(4)
        ]
        assert codes == [401, 401, 401, 429]


def test_forwarded_for_is_read_only_from_a_trusted_proxy(tmp_path):
    settings = api_settings(tmp_path, rate_limit_per_minute=2, trusted_proxies="10.0.0.0/8")
    with api_client(settings) as app_client:
        proxy = TestClient(app_client.app, client=("10.1.2.3", 5000))
        body = {"email": "nobody@example.org", "password": "Wr0ngPassword"}

        def login(forwarded: str) -> int:
            return proxy.post(f"{API}/auth/login", json=body, headers={"X-Forwarded-For": forwarded}).status_code

        assert [login("198.51.100.1"), login("198.51.100.1"), login("198.51.100.1")] == [401, 401, 429]
        assert login("198.51.100.2, 10.9.9.9") == 401, "a proxy chain: the last untrusted hop is the client"


def test_client_address_resolution():
    trusted = ApiSettings(trusted_proxies="10.0.0.0/8, ::1").trusted_proxies

    def scope(peer: str, forwarded: str | None) -> dict:
        headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
        return {"client": (peer, 1), "headers": headers}

    assert client_address(scope("203.0.113.9", "1.2.3.4"), trusted) == "203.0.113.9"
    assert client_address(scope("10.0.0.1", "1.2.3.4, 5.6.7.8"), trusted) == "5.6.7.8"
    assert client_address(scope("::1", "1.2.3.4, 10.0.0.2"), trusted) == "1.2.3.4"
    assert client_address(scope("10.0.0.1", "not-an-address"), trusted) == "10.0.0.1"
    assert client_address(scope("10.0.0.1", None), trusted) == "10.0.0.1"
    assert client_address(scope("10.0.0.1", "1.2.3.4"), ()) == "10.0.0.1", "nothing is trusted by default"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", f"{API}/health", 200),
        ("GET", f"{API}/health/ready", 503),
        ("GET", f"{API}/users/me", 401),
        ("GET", f"{API}/nothing", 404),
        ("PUT", f"{API}/users/me", 405),
        ("GET", f"{API}/races/abc", 401),
        ("POST", f"{API}/auth/login", 422),
        ("GET", f"{API}/openapi.json", 200),
        ("GET", f"{API}/docs", 200),
        ("GET", f"{API}/redoc", 200),
    ],
)
def test_every_response_carries_the_security_headers(client, method, path, status):
    response = client.request(method, path)
    assert response.status_code == status
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in headers["content-security-policy"]
    if path.endswith(("/docs", "/redoc")):
        assert "cdn" not in response.text
    else:
        assert headers["cache-control"] == "no-store"


def test_a_trailing_slash_is_a_404_never_a_redirect_to_the_clients_host(client):
    response = client.get(f"{API}/health/", headers={"Host": "evil.example"}, follow_redirects=False)
    assert response.status_code == 404 and "location" not in response.headers


def test_oversized_headers_are_refused_with_431(client):
    huge = client.get(f"{API}/users/me", headers={"Authorization": "Bearer " + "A" * (8 * 1024 * 1024)})
    assert huge.status_code == 431 and huge.json()["error_code"] == "headers_too_large"
    many = client.get(f"{API}/health", headers=[(f"x-probe-{i}", "1") for i in range(10_000)])
    assert many.status_code == 431
    assert many.headers["x-content-type-options"] == "nosniff"


def test_a_405_lists_every_method_the_path_takes(client):
    response = client.put(f"{API}/users/me")
    assert response.status_code == 405 and response.json()["error_code"] == "method_not_allowed"
    assert response.headers["allow"] == "DELETE, GET"


def test_readiness_tells_anonymous_callers_what_is_wrong_without_internal_details(client):
    anonymous = client.get(f"{API}/health/ready").json()
    runtime = client.app.state.runtime
    internal = [str(runtime.settings.serving_dir), runtime.settings.mlflow_tracking_uri, "sqlite", "/tmp"]
    assert set(anonymous["problems"]) == {"publication-unavailable", "registry-unavailable"}
    assert not [word for word in internal for text in anonymous["problems"].values() if word in text]
    operator = client.get(f"{API}/health/ready", headers={"X-Operator-Token": "operator-secret-for-tests"}).json()
    assert str(runtime.settings.serving_dir) in operator["problems"]["publication-unavailable"]
    wrong = client.get(f"{API}/health/ready", headers={"X-Operator-Token": "guess"}).json()
    assert wrong["problems"] == anonymous["problems"]
    not_ready = client.get(f"{API}/races/2025", headers=bearer(register(client)))
    assert not_ready.status_code == 503 and not_ready.json()["error_code"] == "not_ready"
    assert str(runtime.settings.serving_dir) not in not_ready.text and "sqlite" not in not_ready.text


def test_the_development_secret_is_flagged_at_start_and_loudly_on_a_non_loopback_address(tmp_path, caplog):
    def warnings() -> list[logging.LogRecord]:
        return [record for record in caplog.records if record.name == "f1_serving.guards.exposure"]

    caplog.set_level(logging.WARNING, logger="f1_serving.guards.exposure")
    with TestClient(create_app(api_settings(tmp_path))) as local:
        local.get(f"{API}/health")
        assert [record.levelname for record in warnings()] == ["WARNING"]
        exposed = TestClient(local.app, base_url="http://192.0.2.10")
        exposed.get(f"{API}/health")
        exposed.get(f"{API}/health")
    loud = [record for record in warnings() if record.levelname == "ERROR"]
    assert len(loud) == 1 and "192.0.2.10" in loud[0].getMessage() and "forge" in loud[0].getMessage()
    caplog.clear()
    secret = "s" * 40
    with TestClient(create_app(api_settings(tmp_path, secret_key=secret))) as configured:
        TestClient(configured.app, base_url="http://192.0.2.10").get(f"{API}/health")
    assert not warnings()


def test_registration_email_example_is_valid(client):
    document = client.get(f"{API}/openapi.json").json()
    example = document["components"]["schemas"]["Registration"]["examples"][0]
    example["email"] = new_email()
    assert client.post(f"{API}/auth/register", json=example).status_code == 201


def test_make_serve_does_not_let_uvicorn_believe_forwarded_headers():
    """`make serve` runs `f1-predict serve`, whose uvicorn command line must not trust X-Forwarded-For itself."""
    assert "f1-predict serve" in (REPO_ROOT / "Makefile").read_text().split("\nserve:")[1].split("\n\n")[0]
    assert "--no-proxy-headers" in servers.api("127.0.0.1", 8000)


def test_an_unexpected_error_is_a_500_envelope_with_the_security_headers(tmp_path, caplog):
    app = create_app(api_settings(tmp_path))

    @app.get(f"{API}/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
        response = client.get(f"{API}/boom")
    assert response.status_code == 500
    assert response.json() == {
        "error": "the server failed to answer; the error is logged",
        "error_code": "internal_error",
    }
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"] and headers["cache-control"] == "no-store"
    assert "secret internals" in caplog.text and "secret internals" not in response.text
