"""Plain HTML forms in browsers: redirects after posting, CORS for fetch(), and a honeypot for bots."""

from __future__ import annotations

SOURCES = """
[sources.site]
preset = "form"
auth = "none"
redirect_url = "https://example.com/thanks"
error_redirect_url = "https://example.com/oops?form=contact"
allowed_origins = ["https://www.example.com"]
honeypot = "website_url"
"""

HTML = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
LEAD = {"name": "Ada Lovelace", "phone": "+14155550100", "website_url": ""}


def test_browser_post_is_redirected_to_the_thank_you_page(make_app, admin_headers):
    client = make_app(SOURCES).test_client()
    response = client.post("/v1/leads/site", data=LEAD, headers=HTML)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("https://example.com/thanks?lead_id=")
    lead_id = response.headers["Location"].split("lead_id=")[1]
    assert client.get(f"/v1/leads/{lead_id}", headers=admin_headers).get_json()["status"] == "queued"


def test_invalid_browser_post_goes_to_the_error_page_with_the_reason(make_app):
    client = make_app(SOURCES).test_client()
    response = client.post("/v1/leads/site", data={"name": "Ada"}, headers=HTML)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("https://example.com/oops?form=contact&reason=phone")
    assert "lead_id=" in location


def test_scripts_still_get_json(make_app):
    client = make_app(SOURCES).test_client()
    response = client.post("/v1/leads/site", data=LEAD, headers={"Accept": "application/json"})
    assert response.status_code == 202
    assert "lead_id" in response.get_json()


def test_cors_allows_only_the_configured_origins(make_app):
    client = make_app(SOURCES).test_client()
    preflight = client.options(
        "/v1/leads/site",
        headers={
            "Origin": "https://www.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://www.example.com"
    post = client.post("/v1/leads/site", json=LEAD, headers={"Origin": "https://www.example.com"})
    assert post.headers["Access-Control-Allow-Origin"] == "https://www.example.com"
    stranger = client.post("/v1/leads/site", json=LEAD, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers


def test_honeypot_looks_accepted_but_stores_nothing(make_app, redis):
    client = make_app(SOURCES).test_client()
    response = client.post("/v1/leads/site", data={**LEAD, "website_url": "http://spam.example"})
    assert response.status_code == 202
    assert response.get_json()["status"] == "queued"
    assert redis.llen("rq:queue:leadrelay") == 0
    assert not redis.keys("leadrelay:lead:*")
    assert redis.get("leadrelay:honeypot:site") == b"1"
