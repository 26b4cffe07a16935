"""The PyGithub patch: installed explicitly, once, and loud if the private switch it relies on goes away."""

from __future__ import annotations

import pytest
from github.Requester import Requester

from cmo_agent.adapters import github as adapter
from cmo_agent.core.config import Settings


def test_the_private_attribute_the_patch_relies_on_exists_in_the_pinned_pygithub() -> None:
    assert hasattr(Requester, adapter.PERSIST_ATTRIBUTE)


def test_install_routes_requests_through_the_limits_and_keeps_connections_alive() -> None:
    adapter.install()
    adapter.install()  # a second call changes nothing
    assert vars(Requester)["_Requester__httpConnectionClass"] is adapter._LimitedHTTP
    assert vars(Requester)["_Requester__httpsConnectionClass"] is adapter._LimitedHTTPS
    assert getattr(Requester, adapter.PERSIST_ATTRIBUTE) is True


def test_a_gateway_installs_the_patch_before_its_first_request(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[None] = []
    monkeypatch.setattr(adapter, "install", lambda: calls.append(None))
    adapter.GitHubGateway(Settings(_env_file=None))
    assert calls == [None]


def test_install_fails_loudly_when_pygithub_renames_the_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(adapter, "_installed", False)
    monkeypatch.delattr(Requester, adapter.PERSIST_ATTRIBUTE)
    with pytest.raises(RuntimeError, match="no _Requester__persist"):
        adapter.install()
