"""The interactive API docs work on a server with no internet access: every script and
stylesheet they load comes from Trailbook itself."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_nothing_from_elsewhere(client: TestClient, page: str) -> None:
    answer = client.get(page)
    assert answer.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', answer.text)
    assert assets, "the page loads its scripts"
    for asset in assets:
        assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
        assert client.get(asset).status_code == 200, asset
    assert "/openapi.json" in answer.text
