"""The GitHub source against the fake GitHub on loopback: conditional listings, pagination,
rate limits, retries, bad bodies, tag peeling, reachability and attestations."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from verifier.demo.upstream import FakeGitHub
from verifier.sources.errors import NotFound, RateLimited, UpstreamError
from verifier.sources.github import Cached, GitHub
from verifier.sources.http import make_client
from verifier.verify.results import Reason
from verifier.verify.signatures import load_bundle

REPO = "aquasecurity/trivy"
COMMIT, OTHER = "c" * 40, "d" * 40


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    github = FakeGitHub().start()
    yield github
    github.stop()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


def source(fake: FakeGitHub, client: httpx.Client, **options) -> tuple[GitHub, list[float]]:
    """A GitHub source whose sleeps are recorded instead of slept."""
    slept: list[float] = []
    return GitHub(client, fake.url, sleep=slept.append, **options), slept


def cached(listing) -> Cached:
    assert listing.etag is not None
    return Cached(listing.etag, listing.body_json)


def test_an_unchanged_listing_costs_one_conditional_request(fake, client):
    fake.add_release(REPO, "v0.69.3", {"trivy.tar.gz": b"x"})
    github, _ = source(fake, client)
    first = github.releases(REPO, None)
    assert first.changed and [r.tag for r in first.items] == ["v0.69.3"]
    asset = first.items[0].assets[0]
    assert (asset.name, asset.size, asset.digest.startswith("sha256:")) == ("trivy.tar.gz", 1, True)
    fake.requests.clear()
    again = github.releases(REPO, cached(first))
    assert not again.changed and again.items == first.items
    assert [(r.status, r.conditional) for r in fake.requests] == [(304, True)]


def test_a_change_is_seen_and_every_page_followed(fake, client):
    for n in range(250):
        fake.add_release(REPO, f"v0.{n}.0", {})
    github, _ = source(fake, client)
    listing = github.releases(REPO, None)
    assert len(listing.items) == 250 and listing.items[0].tag == "v0.249.0"
    assert [r.status for r in fake.api_requests()] == [200, 200, 200]
    fake.add_release(REPO, "v1.0.0", {})
    assert github.releases(REPO, cached(listing)).items[0].tag == "v1.0.0"


def test_pages_beyond_the_cap_are_not_fetched(fake, client):
    for n in range(250):
        fake.add_release(REPO, f"v0.{n}.0", {})
    github, _ = source(fake, client, max_pages=2)
    assert len(github.releases(REPO, None).items) == 200


def test_drafts_are_skipped(fake, client):
    fake.add_release(REPO, "v1", {})["draft"] = True
    fake.add_release(REPO, "v2", {})
    github, _ = source(fake, client)
    assert [r.tag for r in github.releases(REPO, None).items] == ["v2"]


def test_server_errors_are_retried_with_backoff(fake, client):
    fake.add_release(REPO, "v1", {})
    fake.inject(502, count=2)
    github, slept = source(fake, client, backoff=0.5)
    assert github.releases(REPO, None).items[0].tag == "v1"
    assert slept == [0.5, 1.0]


def test_persistent_server_errors_end_in_an_upstream_error(fake, client):
    fake.inject(500, count=4)
    github, _ = source(fake, client, retries=3)
    with pytest.raises(UpstreamError, match=r"failed 4 times, last: answered 500"):
        github.releases(REPO, None)


def test_primary_rate_limit_waits_until_reset(fake, client):
    fake.add_release(REPO, "v1", {})
    fake.rate_limit(seconds=3)
    github, slept = source(fake, client)
    assert github.releases(REPO, None).items[0].tag == "v1"
    assert len(slept) == 1 and 2 <= slept[0] <= 5


def test_retry_after_is_honoured(fake, client):
    fake.add_release(REPO, "v1", {})
    fake.inject(429, headers={"Retry-After": "7"})
    github, slept = source(fake, client)
    github.releases(REPO, None)
    assert slept[0] == pytest.approx(7, abs=0.5)


def test_a_long_rate_limit_is_reported_not_waited_for(fake, client):
    fake.rate_limit(seconds=3600)
    github, slept = source(fake, client, max_wait=60)
    with pytest.raises(RateLimited, match="token_file"):
        github.releases(REPO, None)
    assert slept == []


def test_html_instead_of_json_is_an_upstream_error(fake, client):
    fake.inject(200, headers={"Content-Type": "text/html"}, body=b"<html>login</html>")
    github, _ = source(fake, client)
    with pytest.raises(UpstreamError, match=r"text/html that is not JSON.*<html>"):
        github.releases(REPO, None)


def test_json_of_the_wrong_shape_is_an_upstream_error(fake, client):
    fake.inject(200, body=b'{"message": "moved"}')
    github, _ = source(fake, client)
    with pytest.raises(UpstreamError, match="expected a JSON list"):
        github.releases(REPO, None)


def test_an_unknown_repository_is_not_found(fake, client):
    github, _ = source(fake, client)
    with pytest.raises(NotFound, match="404"):
        github.releases("nobody/nothing", None)


def test_slow_answers_time_out_and_are_retried(fake):
    fake.add_release(REPO, "v1", {})
    fake.latency = 0.5
    with httpx.Client(timeout=0.1) as slow:
        github, slept = source(fake, slow, retries=1)
        with pytest.raises(UpstreamError, match="ReadTimeout"):
            github.releases(REPO, None)
    assert len(slept) == 1


def test_lightweight_and_annotated_tags_resolve_to_commits(fake, client):
    fake.set_tag(REPO, "v1", COMMIT)
    fake.set_tag(REPO, "v2", OTHER, annotated=True)
    github, _ = source(fake, client)
    listing = github.tags(REPO, None)
    assert {(t.name, t.object_type, t.commit) for t in listing.items} == {
        ("v1", "commit", COMMIT),
        ("v2", "tag", OTHER),
    }
    fake.set_tag(REPO, "v3", COMMIT)
    fake.requests.clear()
    github.tags(REPO, cached(listing))  # the annotated tag object is not peeled again
    assert not any("/git/tags/" in r.path for r in fake.requests)


def test_reachability_from_protected_branches(fake, client):
    fake.add_commit(REPO, COMMIT, branch="main")
    fake.add_commit(REPO, OTHER, branch=None)
    fake.add_commit(REPO, "9" * 40, branch="release")
    github, _ = source(fake, client)
    assert github.reachability(REPO, COMMIT, ["release", "main"]).branch == "main"
    assert github.reachability(REPO, OTHER, ["main"]).status == "not-on-branch"
    assert github.reachability(REPO, "e" * 40, ["main"]).status == "unknown-commit"
    assert github.default_branch(REPO) == "main"


def test_a_misnamed_branch_is_an_error_not_an_impostor(fake, client):
    fake.add_commit(REPO, COMMIT, branch="main")
    github, _ = source(fake, client)
    with pytest.raises(UpstreamError, match="has no branch 'master': check the tool's signature"):
        github.reachability(REPO, COMMIT, ["master"])


def test_attestations_are_listed_and_absent_ones_are_empty(fake, client):
    fake.add_attestation(REPO, "a" * 64, {"mediaType": "application/vnd.dev.sigstore.bundle"})
    github, _ = source(fake, client)
    assert github.attestations(REPO, "a" * 64) == [
        b'{"mediaType":"application/vnd.dev.sigstore.bundle"}'
    ]
    assert github.attestations(REPO, "b" * 64) == []


def test_the_token_goes_to_the_api_host_only_and_is_never_shown(tmp_path, write_config):
    (tmp_path / "gh-token").write_text("ghp_secret\n")
    config = write_config(github='api_url = "http://127.0.0.1:9"\ntoken_file = "gh-token"')
    seen: dict[str, str | None] = {}

    def record(request: httpx.Request) -> httpx.Response:
        seen[request.url.host] = request.headers.get("authorization")
        return httpx.Response(200, json=[])

    with make_client(config) as client:
        client._transport = httpx.MockTransport(record)
        client.get("http://127.0.0.1:9/repos/a/b/releases")
        client.get("http://localhost:9/a/b/releases/download/v1/x")
        assert "ghp_secret" not in repr(client.auth)
        assert client.headers["user-agent"].startswith("toolgate/")
    assert seen == {"127.0.0.1": "Bearer ghp_secret", "localhost": None}


def test_a_deeply_nested_attestation_is_refused_by_the_verifier_not_a_crash(fake, client):
    nested: object = []
    for _ in range(300):
        nested = [nested]
    fake.add_attestation(REPO, "a" * 64, {"mediaType": "x", "verificationMaterial": nested})
    github, _ = source(fake, client)
    (raw,) = github.attestations(REPO, "a" * 64)
    failure = load_bundle(raw)
    assert failure.reason == Reason.SIGNATURE_INVALID and "nested too deeply" in failure.detail
