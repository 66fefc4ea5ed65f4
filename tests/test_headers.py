"""Point 8: security headers everywhere, a CSP the docs still work under, configurable CORS."""

import base64
import hashlib
import re

from tests.support import Stack, make_settings, running_stack


async def test_every_response_carries_the_security_headers(stack: Stack):
    for response in [
        await stack.query.get("/query/v1/users/nobody"),
        await stack.command.get("/healthz"),
        await stack.command.post("/command/v1/users", json={}),
    ]:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_the_docs_page_policy_allows_exactly_what_swagger_ui_loads(stack: Stack):
    for client, prefix in ((stack.command, "/command"), (stack.query, "/query")):
        page = await client.get(f"{prefix}/docs")
        assert page.status_code == 200
        policy = page.headers["content-security-policy"]
        for script in re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL):
            digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in policy
        assert "script-src 'self' 'sha256-" in policy
        assert "connect-src 'self'" in policy  # it fetches the OpenAPI document
        # Nothing from anywhere else: no CDN, no validator badge, no remote icon.
        assert "http" not in policy
        assert "'unsafe-inline'" not in policy
        assert "validatorUrl" in page.text


async def test_the_docs_page_works_offline_its_files_come_from_the_service(stack: Stack):
    for client, prefix in ((stack.command, "/command"), (stack.query, "/query")):
        page = (await client.get(f"{prefix}/docs")).text
        referenced = re.findall(r'<script src="([^"]+)"', page) + re.findall(
            r'<link[^>]+href="([^"]+)"', page
        )
        assert len(referenced) == 3  # the script, the stylesheet, the icon
        for url in referenced:
            assert url.startswith(f"{prefix}/docs/assets/"), url
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert asset.content, url
            assert asset.headers["content-type"].split(";")[0] in {
                "text/javascript",
                "text/css",
                "image/png",
            }
        bundle = await client.get(f"{prefix}/docs/assets/swagger-ui-bundle.js")
        assert b"SwaggerUIBundle" in bundle.content
        unknown = await client.get(f"{prefix}/docs/assets/index.html")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"


async def test_cors_answers_only_configured_origins():
    settings = make_settings(cors_allow_origins="https://app.example")
    async with running_stack(settings) as stack:
        preflight = await stack.command.options(
            "/command/v1/posts",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,idempotency-key",
            },
        )
        other = await stack.query.get(
            "/query/v1/users/nobody", headers={"Origin": "https://evil.example"}
        )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers


async def test_no_cors_by_default(stack: Stack):
    response = await stack.query.get(
        "/query/v1/users/nobody", headers={"Origin": "https://app.example"}
    )
    assert "access-control-allow-origin" not in response.headers


async def test_a_web_client_may_read_and_send_back_the_consistency_token():
    settings = make_settings(cors_allow_origins="https://app.example")
    async with running_stack(settings) as stack:
        preflight = await stack.query.options(
            "/query/v1/timeline",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization,x-consistency-token",
            },
        )
        alice = await stack.sign_up("alice")
        posted = await stack.command.post(
            "/command/v1/posts",
            json={"text": "hi"},
            headers={**alice.auth, "Origin": "https://app.example"},
        )
    assert preflight.status_code == 200
    exposed = posted.headers["access-control-expose-headers"].lower()
    assert "x-consistency-token" in exposed
    assert "x-consistency" in exposed.replace("x-consistency-token", "")
