"""``context_files`` / ``context_digest``: the image tag follows exactly what a build sends."""

from __future__ import annotations

from pathlib import Path

from rancher_stacks.hosts.placement import context_digest, context_files


def make(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


ALLOW_LIST = "*\n!requirements.txt\n!app/\n**/__pycache__\n**/*.py[cod]\n"


def test_an_allow_list_sends_the_listed_files_and_the_dockerfile(tmp_path: Path) -> None:
    root = make(
        tmp_path,
        {
            ".dockerignore": ALLOW_LIST,
            "Dockerfile": "FROM scratch\n",
            "requirements.txt": "flask\n",
            "app/main.py": "",
            "app/__pycache__/main.cpython-311.pyc": "",
            "README.md": "",
            "compose.yaml": "",
            "venv/lib/x.py": "",
        },
    )
    sent = [p.relative_to(root).as_posix() for p in context_files(root)]
    assert sent == ["Dockerfile", "app/main.py", "requirements.txt"]


def test_the_digest_changes_with_the_build_input_only(tmp_path: Path) -> None:
    root = make(tmp_path, {".dockerignore": ALLOW_LIST, "Dockerfile": "FROM scratch\n", "app/main.py": "a"})
    before = context_digest(root)
    make(root, {"README.md": "docs", "compose.yaml": "services: {}\n"})
    assert context_digest(root) == before
    make(root, {"app/main.py": "b"})
    edited = context_digest(root)
    assert edited != before
    make(root, {"Dockerfile": "FROM scratch\nUSER 1\n"})
    assert context_digest(root) != edited


def test_the_last_matching_line_decides_and_double_star_matches_no_directory(tmp_path: Path) -> None:
    root = make(
        tmp_path,
        {
            ".dockerignore": "docs\n!docs/keep.md\n**/*.log\n",
            "Dockerfile": "",
            "docs/keep.md": "",
            "docs/drop.md": "",
            "top.log": "",
            "src/deep/run.log": "",
            "src/main.py": "",
        },
    )
    sent = {p.relative_to(root).as_posix() for p in context_files(root)}
    assert sent == {".dockerignore", "Dockerfile", "docs/keep.md", "src/main.py"}


def test_without_a_dockerignore_everything_but_bytecode_is_sent(tmp_path: Path) -> None:
    root = make(tmp_path, {"Dockerfile": "", "a.py": "", "a.pyc": "", "__pycache__/a.pyc": ""})
    assert [p.name for p in context_files(root)] == ["Dockerfile", "a.py"]
