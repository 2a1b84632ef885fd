"""The built wheel works once installed somewhere else (a release test, ~15 s).

The source tree is copied to a temporary directory and built there with ``python -m
build`` (an sdist, then a wheel from that sdist, as an index would get them), and both
pass ``twine check --strict``. The wheel is installed into a fresh virtual environment
outside the repository, created with ``--system-site-packages`` so the dependencies
already installed are reused (installed with ``--no-deps``: fast, and no network). Then,
with the working directory outside the repository and no ``PYTHONPATH``, the test runs
``delegation --version``, ``delegation demo`` (its agent processes import the installed
package too; and ``--in-process``) and the README's Python example there, and
checks every ``delegation`` module was imported from the virtual environment: a file
missing from the wheel (``py.typed``, the HTML renderer's script, a subpackage) fails.

Needs the ``release`` extra (``build``, ``twine``, ``setuptools>=77``), which ``dev``
includes. The build runs without isolation so that no download is needed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.release

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
TIMEOUT = 180
_IGNORE = shutil.ignore_patterns(
    ".git", "__pycache__", "*.py[cod]", "build", "dist", "*.egg-info", ".venv", "venv", "site",
    ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", "htmlcov", ".coverage",
    "delegation-store.sqlite*", "delegation-audit.jsonl", "demo-out",
)  # fmt: skip


def _run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _copy_source(dest: Path) -> None:
    """The files a clean clone has (tracked and new, not ignored), or the tree minus junk."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607
            cwd=ROOT, capture_output=True, check=True, timeout=60,
        ).stdout.decode().split("\0")  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        shutil.copytree(ROOT, dest, ignore=_IGNORE)
        return
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the work tree is not there
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build`` of a copy of the source tree: the sdist and the wheel."""
    for module in ("build", "twine"):
        if _missing(module):
            pytest.fail(f"{module} is missing: pip install -e '.[dev]' (the release extra)")
    source = tmp_path_factory.mktemp("source")
    _copy_source(source)
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, source], cwd=source)
    return out


def _missing(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is None


def _wheel(dist: Path) -> Path:
    (wheel,) = dist.glob(f"delegation-{VERSION}-py3-none-any.whl")
    return wheel


def test_twine_check_passes(dist: Path) -> None:
    files = sorted(dist.iterdir())
    assert [f.name for f in files] == [
        f"delegation-{VERSION}-py3-none-any.whl",
        f"delegation-{VERSION}.tar.gz",
    ]
    _run([sys.executable, "-m", "twine", "check", "--strict", *files], cwd=dist)


def test_wheel_contents(dist: Path) -> None:
    names = set(zipfile.ZipFile(_wheel(dist)).namelist())
    info = f"delegation-{VERSION}.dist-info"
    for needed in (
        "delegation/py.typed",
        "delegation/graph/render/_script.js",
        "delegation/graph/detectors/rules.toml",
        f"{info}/licenses/LICENSE",
        f"{info}/licenses/NOTICE",
        f"{info}/METADATA",
        f"{info}/entry_points.txt",
    ):
        assert needed in names, f"{needed} is not in the wheel"
    package = {p.relative_to(ROOT).as_posix() for p in (ROOT / "delegation").rglob("*.py")}
    assert package <= names, f"not in the wheel: {sorted(package - names)}"
    assert not [n for n in names if not n.startswith(("delegation/", f"{info}/"))]
    metadata = zipfile.ZipFile(_wheel(dist)).read(f"{info}/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata
    assert f"Version: {VERSION}" in metadata
    assert "## Minting and verifying" in metadata  # the README is the long description


def test_sdist_contents(dist: Path) -> None:
    with tarfile.open(dist / f"delegation-{VERSION}.tar.gz") as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    for needed in (
        "LICENSE",
        "NOTICE",
        "CHANGELOG.md",
        "README.md",
        "pyproject.toml",
        "mkdocs.yml",
        "docs/api.md",
        "delegation/py.typed",
        "delegation/graph/render/_script.js",
        "delegation/graph/detectors/rules.toml",
        "tests/vectors/README.md",
        "tests/vectors/wycheproof/LICENSE",
        "tests/vectors/sarif/README.md",
    ):
        assert needed in names, f"{needed} is not in the sdist"


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment outside the source tree, with the wheel installed."""
    home = tmp_path_factory.mktemp("venv")
    _run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", home / "env"],
        cwd=home,
    )
    python = home / "env" / "bin" / "python"
    # pip comes from the system site-packages and installs into the environment it runs in.
    _run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", _wheel(dist)],
        cwd=home,
        env=_clean_env(),
    )
    return home / "env"


def _clean_env() -> dict[str, str]:
    """The environment without PYTHONPATH and friends: only the installed package is seen."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.pop("VIRTUAL_ENV", None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _outside(tmp_path: Path) -> Path:
    assert ROOT not in tmp_path.resolve().parents
    return tmp_path


def test_version(venv: Path, tmp_path: Path) -> None:
    out = _run([venv / "bin" / "delegation", "--version"], cwd=_outside(tmp_path), env=_clean_env())
    assert out.strip() == f"delegation {VERSION}"


@pytest.mark.parametrize("mode", ["processes", "in-process"])
def test_demo_runs_from_the_wheel(venv: Path, tmp_path: Path, mode: str) -> None:
    """The README's command: the agents are processes of the installed package (the http
    extra comes from the system site-packages, as ``.[dev]`` installs it); and
    ``--in-process``, which needs no extra."""
    cwd = _outside(tmp_path)
    flags = ["--in-process"] if mode == "in-process" else []
    out = _run(
        [venv / "bin" / "delegation", "demo", *flags, "--out", "demo"], cwd=cwd, env=_clean_env()
    )
    assert "every step behaved as it must" in out
    assert ("separate processes" in out) == (mode == "processes")
    for name in ("audit.jsonl", "chain.txt", "report.json", "report.sarif", "graph.html"):
        assert (cwd / "demo" / name).is_file(), f"the demo did not write {name}"
    html = (cwd / "demo" / "graph.html").read_text()
    assert "<script" in html and "</html>" in html


def test_readme_example_and_imports_come_from_the_venv(venv: Path, tmp_path: Path) -> None:
    cwd = _outside(tmp_path)
    readme = (ROOT / "README.md").read_text()
    example = re.search(r"```python\n(.*?)```", readme, re.S)
    assert example is not None
    (cwd / "example.py").write_text(example.group(1))
    out = _run([venv / "bin" / "python", "example.py"], cwd=cwd, env=_clean_env())
    assert out.startswith("spiffe://acme.example/agent/researcher")
    probe = f"""
import importlib, importlib.metadata, importlib.resources, pkgutil, sys
import delegation
for info in pkgutil.walk_packages(delegation.__path__, "delegation."):
    importlib.import_module(info.name)
prefix = {str(venv.resolve())!r}
foreign = [m.__file__ for n, m in sys.modules.items()
           if n.split(".")[0] == "delegation" and not (m.__file__ or "").startswith(prefix)]
assert not foreign, foreign
assert importlib.resources.files("delegation").joinpath("py.typed").is_file()
assert delegation.__version__ == importlib.metadata.version("delegation") == {VERSION!r}
print(len([n for n in sys.modules if n.split(".")[0] == "delegation"]))
"""
    modules = _run([venv / "bin" / "python", "-c", probe], cwd=cwd, env=_clean_env())
    assert int(modules) > 50
