"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

BLOCKS = re.findall(r"```python\n(.*?)```", (REPO_ROOT / "README.md").read_text(encoding="utf-8"), re.S)


def test_readme_has_the_seed_example_and_the_script_example() -> None:
    assert len(BLOCKS) >= 2
    assert "github_api_calls" in BLOCKS[0] and "to_send" in BLOCKS[0]
    assert "get_state_history" in BLOCKS[1]


@pytest.mark.e2e
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(
    index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CMO_DATA_DIR", str(tmp_path / "data"))
    for name in ("GITHUB_TOKEN", "OPENAI_API_KEY", "CMO_CHECKPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    namespace: dict[str, object] = {}
    exec(compile(BLOCKS[index], f"README.md[python block {index}]", "exec"), namespace)
    if "get_state_history" in BLOCKS[index]:
        out = capsys.readouterr().out
        assert "stopped before ('hygiene',)" in out
        final = namespace["final"]
        assert isinstance(final, dict)
        assert final["reports"]["summary"]["funnel"]["drafted"] > 0
        assert list((tmp_path / "data" / "outbox" / "script-example").glob("*.eml"))
