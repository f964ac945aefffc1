"""The app developers' path: a TypeScript client generated from the live OpenAPI spec with
openapi-typescript compiles with tsc, together with typed code that uses it; a misuse fails to compile."""

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

JS = Path(__file__).parent / "js"
BIN = JS / "node_modules" / ".bin"


def run(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture
async def client_dir(api: httpx.AsyncClient, tmp_path: Path) -> Path:
    spec = (await api.get("/openapi.json")).json()
    (tmp_path / "openapi.json").write_text(json.dumps(spec))
    for name in ("app.ts", "tsconfig.json"):
        shutil.copy(JS / "client" / name, tmp_path / name)
    # Resolve openapi-fetch (and its types) from the suite's node_modules.
    (tmp_path / "node_modules").symlink_to(JS / "node_modules")
    generated = run(str(BIN / "openapi-typescript"), "openapi.json", "-o", "api.d.ts", cwd=tmp_path)
    assert generated.returncode == 0, generated.stderr + generated.stdout
    return tmp_path


def test_the_generated_client_compiles_with_code_that_uses_it(client_dir: Path) -> None:
    types = (client_dir / "api.d.ts").read_text()
    assert '"/api/v1/admin/disputes/{dispute_id}/resolve"' in types and "ErrorDetail" in types
    compiled = run(str(BIN / "tsc"), "-p", "tsconfig.json", cwd=client_dir)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr


def test_a_misuse_of_the_api_does_not_compile(client_dir: Path) -> None:
    app = client_dir / "app.ts"
    wrong = app.read_text().replace('statement: "The tap', 'statment: "The tap')  # a typo in a body field
    app.write_text(wrong)
    compiled = run(str(BIN / "tsc"), "-p", "tsconfig.json", cwd=client_dir)
    assert compiled.returncode != 0 and "statment" in compiled.stdout
