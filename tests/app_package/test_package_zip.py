from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile

import pytest

from app.errors import InputError
from app.packaging import build_package, package_files
from tests.app_package.conftest import REPO
from tests.app_package.test_manifest import DELETE, manifest
from tests.conftest import mode


def test_the_zip_holds_the_app_and_nothing_else(tmp_path):
    archive = build_package(REPO, tmp_path / "out")
    assert archive.parent == tmp_path / "out" and re.fullmatch(r"app-\d{17}\.zip", archive.name)
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        assert zipped.read("manifest.json") == (REPO / "manifest.json").read_bytes()
    assert "assets/logo.png" in names and "translations/en.json" in names
    assert not [name for name in names if name.startswith(("app/", "tests/"))]
    strays = [name for name in names if name != "manifest.json" and not name.startswith(("assets/", "translations/"))]
    assert not strays, f"add these to .zcliignore, they are not part of the Zendesk app: {strays}"
    assert names == package_files(REPO)


def test_the_package_command_writes_a_private_zip_in_a_private_folder(tmp_path, shell_umask):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENDESK_", "OUTAGE_DESK_", "DATABASE_URL"))}
    result = subprocess.run([sys.executable, "-c", "from app.cli import main; main()", "package", "--out", "dist"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    [archive] = (tmp_path / "dist").glob("app-*.zip")
    assert mode(tmp_path / "dist") == 0o700 and mode(archive) == 0o600


def test_a_broken_app_is_refused_and_not_zipped(app_copy, tmp_path):
    manifest("author", DELETE)(app_copy)
    with pytest.raises(InputError, match="Missing required field in manifest: author"):
        build_package(app_copy, tmp_path / "out")
    assert not (tmp_path / "out").exists()


TREE = ("manifest.json", "README.md", "notes.txt", "docs/guide.md", "assets/app.js", "assets/notes.md",
        "lib/tool.py", "lib/deep/tool.py", "tmp/app-1.zip", ".env", ".git/config", "assets/.DS_Store")


@pytest.mark.parametrize(("ignore", "kept"), [
    ("", ["README.md", "assets/app.js", "assets/notes.md", "docs/guide.md", "lib/deep/tool.py", "lib/tool.py",
          "manifest.json", "notes.txt"]),
    # minimatch without matchBase: "*.md" is the top level only; "lib/" matches no file, "lib/**" all of them.
    ("# docs\n*.md\nlib/\nnotes.txt\n", ["assets/app.js", "assets/notes.md", "docs/guide.md", "lib/deep/tool.py",
                                       "lib/tool.py", "manifest.json"]),
    ("**/*.md\r\nlib/**\n", ["assets/app.js", "manifest.json", "notes.txt"]),
    ("lib/*\n", ["README.md", "assets/app.js", "assets/notes.md", "docs/guide.md", "lib/deep/tool.py",
                 "manifest.json", "notes.txt"]),
    ("!{manifest.json,assets/**}\n", ["assets/app.js", "assets/notes.md", "manifest.json"]),
    ("{docs,lib}/**\n*.{md,txt}\n", ["assets/app.js", "assets/notes.md", "manifest.json"]),
    ("assets/[!a]*\n", ["README.md", "assets/app.js", "docs/guide.md", "lib/deep/tool.py", "lib/tool.py",
                        "manifest.json", "notes.txt"]),
])
def test_zcliignore_is_read_as_zcli_reads_it(tmp_path, ignore, kept):
    for path in TREE:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")
    (tmp_path / ".zcliignore").write_text(ignore)
    assert package_files(tmp_path) == kept


def test_patterns_zcli_would_read_differently_are_refused(tmp_path):
    (tmp_path / ".zcliignore").write_text("assets/+(a|b).js\n")
    with pytest.raises(InputError, match="extglob"):
        package_files(tmp_path)
