"""Secrets never reach an error record: values under secret-looking keys, URL passwords, secret
parameters and headers, and well-known token formats are masked; everything else is kept."""

from __future__ import annotations

import copy

import pytest

from cmo_agent.core.redaction import MASK, is_secret_key, redact_secrets, redact_text

GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
OPENAI_KEY = "sk-" + "proj-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2"


@pytest.mark.parametrize(
    "name",
    [
        "token",
        "GITHUB_TOKEN",
        "access_token",
        "apiKey",
        "api_key",
        "OPENAI_API_KEY",
        "smtp_password",
        "Authorization",
        "client_secret",
        "sslpassword",
        "Cookie",
        "credentials",
    ],
)
def test_secret_looking_keys_are_recognised(name: str) -> None:
    assert is_secret_key(name)


@pytest.mark.parametrize("name", ["login", "keywords", "commit_authors", "author", "repos", "email", "monkey"])
def test_ordinary_keys_are_not_secrets(name: str) -> None:
    assert not is_secret_key(name)


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        ("postgresql://cmo:hunter2@db.internal:5432/cmo", "postgresql://cmo:***@db.internal", "hunter2"),
        ("GET https://x-access:s3cr3t@ghe.example/api/v3/users/ada", "https://x-access:***@ghe.example", "s3cr3t"),
        ("host=db password=hunter2 sslmode=require", "password=***", "hunter2"),
        ("/search?q=ml&access_token=abc123&page=2", "access_token=***&page=2", "abc123"),
        ("{'Authorization': 'Bearer abc.def.ghi', 'Accept': 'json'}", "'Authorization': 'Bearer ***'", "abc.def.ghi"),
        ("Authorization: token deadbeefcafe", "Authorization: token ***", "deadbeefcafe"),
        (f"401 Bad credentials for {GITHUB_TOKEN}", "401 Bad credentials for ***", GITHUB_TOKEN),
        (f"the model refused key {OPENAI_KEY}!", "refused key ***!", OPENAI_KEY),
    ],
    ids=[
        "url-password",
        "url-password-https",
        "connection-string",
        "query-token",
        "bearer-repr",
        "token-header",
        "github-token",
        "openai-key",
    ],
)
def test_secrets_in_text_are_masked_and_the_rest_is_kept(text: str, kept: str, gone: str) -> None:
    redacted = redact_text(text)
    assert kept in redacted and gone not in redacted


def test_text_without_secrets_is_unchanged() -> None:
    text = "GithubException: 500 {'message': 'Server Error'} at https://api.github.com/users/ada?per_page=100"
    assert redact_text(text) == text


def test_an_input_is_copied_with_its_secrets_masked_at_any_depth() -> None:
    given = {
        "login": "ada",
        "repos": {"octo/ml": 3},
        "settings": {"github_token": GITHUB_TOKEN, "smtp_password": "", "imap_password": None},
        "headers": [{"Authorization": "Bearer abc"}, {"Accept": "application/json"}],
        "url": "https://ada:pw@example.org/x",
        "note": f"token in text {GITHUB_TOKEN}",
        "counts": (1, 2.5, True, None),
    }
    before = copy.deepcopy(given)
    redacted = redact_secrets(given)
    assert given == before, "the input itself is not changed"
    assert redacted == {
        "login": "ada",
        "repos": {"octo/ml": 3},
        "settings": {"github_token": MASK, "smtp_password": "", "imap_password": None},
        "headers": [{"Authorization": MASK}, {"Accept": "application/json"}],
        "url": "https://ada:***@example.org/x",
        "note": "token in text ***",
        "counts": [1, 2.5, True, None],
    }
