"""MkDocs hooks: the API reference and the CLI reference, generated at build time.

The API pages are written from ``nnbasics.__all__`` (and ``nnbasics.sklearn`` once it
exists), so a public module that lands later gets its page without editing the nav. The CLI
page is the argparse help of every command, so it cannot drift from the parsers.
"""

from __future__ import annotations

import inspect
import os
import pathlib
import re
import sys

from mkdocs.structure.files import File

sys.path.insert(0, str(pathlib.Path(__file__).parent))  # mkdocs loads hooks by path
from public_api import public_modules as _public_modules


def _top_level_page() -> str:
    import nnbasics

    lines = [
        "# `nnbasics`",
        "",
        "The names exported at the top level. Each is documented under its qualified name;",
        "`nb.fit` is `nnbasics.train.fit`, and so on. The modules have their own pages.",
        "",
    ]
    for name in nnbasics.__all__:
        obj = getattr(nnbasics, name)
        if inspect.ismodule(obj):
            continue
        qualified = f"{obj.__module__}.{name}"
        lines.append(f"- [`nnbasics.{name}`][{qualified}]: `{qualified}`")
    return "\n".join(lines)


def _cli_page() -> str:
    os.environ["COLUMNS"] = "100"
    from nnbasics.cli import build_parser

    parser = build_parser()
    parser.prog = "nnbasics"
    lines = [
        "# Command-line reference",
        "",
        "Generated at build time from the argparse parsers in `nnbasics.cli`, so it always",
        "matches the installed version. Errors in arguments print one line and exit 2; a",
        "failed run prints one line and exits 1.",
        "",
        "```text",
        parser.format_help().rstrip(),
        "```",
        "",
    ]
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, command in sub.choices.items():
        lines += [f"## `nnbasics {name}`", "", "```text", command.format_help().rstrip(), "```", ""]
    return "\n".join(lines)


def _api_nav(modules: list[str]) -> list:
    return [{"nnbasics": "api/index.md"}] + [{m: f"api/{m}.md"} for m in modules]


_OUTSIDE = re.compile(r"\]\((\.\./[^)\s]+)\)")


def on_page_markdown(markdown, page, config, files):
    # Links out of docs/ (to benchmark results, the notebooks) name the repository file.
    return _OUTSIDE.sub(lambda m: f"] (repository file `{m.group(1)[3:]}`)", markdown)


def _nav_files(nav) -> set[str]:
    found = set()
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        if isinstance(value, list):
            found |= _nav_files(value)
        elif isinstance(value, str):
            found.add(value)
    return found


def on_config(config):
    nav = config["nav"]
    # A page another change adds to docs/ before it is placed in the nav still gets listed.
    listed = _nav_files(nav)
    docs = pathlib.Path(config["docs_dir"])
    extra = sorted(p.name for p in docs.glob("*.md") if p.name not in listed)
    if extra:
        nav.append({"More": extra})
    for i, entry in enumerate(nav):
        if isinstance(entry, dict) and "API reference" in entry:
            nav[i] = {"API reference": _api_nav(_public_modules())}
    return config


def on_files(files, config):
    pages = {"api/index.md": _top_level_page(), "cli.md": _cli_page()}
    for module in _public_modules():
        pages[f"api/{module}.md"] = f"# `{module}`\n\n::: {module}\n"
    for src, content in pages.items():
        files.append(File.generated(config, src, content=content))
    return files
