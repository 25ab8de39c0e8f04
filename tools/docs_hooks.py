"""MkDocs hooks: the API reference and the tutorials, generated at build time; the CLI page checked.

The API pages are written from the public modules (``tools/public_api.py``), so a public
module that lands later gets its page without editing the nav. The CLI page
(``docs/cli.md``) is the argparse help of every command, committed so that it reads on
GitHub too; the build fails when it differs from the parsers (``python
tools/docs_hooks.py`` rewrites it). Pages link a notebook or a module's source, which
read on GitHub, and the site shows the tutorial or the reference entry instead.

The tutorials are the committed notebooks (``notebooks/*.ipynb``) turned into Markdown
pages with their committed outputs: text as code blocks, figures as PNG files beside the
page. Converted here with nbformat rather than by mkdocs-jupyter, whose pages load
require.js and MathJax from a CDN (the site must read offline) and which re-renders each
notebook through nbconvert's HTML templates; Markdown pages go through the same strict
build, KaTeX and search index as every other page.
"""

from __future__ import annotations

import base64
import functools
import inspect
import logging
import os
import pathlib
import posixpath
import re
import sys
from unittest import mock

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
        # the public module that exports it: nnbasics.train for nnbasics.train._fit
        parts = obj.__module__.split(".")
        public = next((i for i, part in enumerate(parts) if part.startswith("_")), len(parts))
        qualified = ".".join(parts[:public] + [name])
        lines.append(f"- [`nnbasics.{name}`][{qualified}]: `{qualified}`")
    return "\n".join(lines)


def _cli_page() -> str:
    from nnbasics.cli import build_parser

    # the same page on every machine: the help names the default cache folder, which
    # holds the machine's key, so the page shows that folder's pattern instead
    pattern = {"COLUMNS": "100", "JAX_COMPILATION_CACHE_DIR": "~/.cache/nnbasics/jax/<machine>"}
    with mock.patch.dict(os.environ, pattern):
        parser = build_parser()
        parser.prog = "nnbasics"
        lines = [
            "# Command-line reference",
            "",
            "The help of every command, written from the argparse parsers in `nnbasics.cli` by",
            "`python tools/docs_hooks.py` (the site's build fails when this page differs from",
            "them). Errors in arguments print one line and exit 2; a failed run prints one line",
            "and exits 1.",
            "",
            *_fence(parser.format_help()),
        ]
        sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
        for name, command in sub.choices.items():
            lines += [f"## `nnbasics {name}`", "", *_fence(command.format_help())]
    return "\n".join(lines)


def _api_nav(modules: list[str]) -> list:
    return [{"nnbasics": "api/index.md"}] + [{m: f"api/{m}.md"} for m in modules]


_RELATIVE = re.compile(r"\]\((\.\./[^)\s]+)\)")
ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
CLI_PAGE = ROOT / "docs" / "cli.md"  # committed, so that it reads on GitHub too
log = logging.getLogger("mkdocs.hooks.docs_hooks")  # a warning fails the strict build


@functools.cache
def _cached_public_modules() -> tuple[str, ...]:
    return tuple(_public_modules())


def _site_page(path: str) -> str | None:
    """The generated page that stands for repository file ``path`` in the site, if any.

    The pages link what reads on GitHub: a notebook (its tutorial here), a module's source
    (its API reference here), ``nnbasics/__init__.py`` (the reference's first page).
    """
    stem, suffix = posixpath.splitext(path)
    if path.startswith("notebooks/") and suffix == ".ipynb" and (ROOT / path).exists():
        return f"tutorials/{posixpath.basename(stem)}.md"
    if path.startswith("nnbasics/") and suffix == ".py":
        module = stem.removesuffix("/__init__").replace("/", ".")
        if module == "nnbasics":
            return "api/index.md"
        if module in _cached_public_modules():
            return f"api/{module}.md"
    return None


def on_page_markdown(markdown, page, config, files):
    # Links out of docs/ name the repository file, or go to the generated page of the
    # site that shows it (a notebook's tutorial, a module's reference).
    here = posixpath.dirname(page.file.src_uri)

    def rewrite(m):
        target, _, anchor = m.group(1).partition("#")
        target = posixpath.normpath(posixpath.join(here, target))
        if not target.startswith("../"):
            return m.group(0)  # a page of the site in another folder
        page_here = _site_page(target[3:])
        if page_here is not None:
            relative = posixpath.relpath(page_here, here or ".")
            return f"]({relative}{'#' + anchor if anchor else ''})"
        return f"] (repository file `{target[3:]}`)"

    return _RELATIVE.sub(rewrite, markdown)


# Sphinx roles in docstrings (":func:`load`"), as Python-Markdown leaves them: the role
# before the code span. They become cross-references to the page's module (or to the
# qualified name given), which render as plain code where no such entry exists.
_ROLE = re.compile(r":(?:func|class|data|attr|meth|mod|obj|exc):<code>~?([\w.]+)</code>")


def on_page_content(html, page, config, files):
    src = page.file.src_uri
    if not src.startswith("api/"):
        return html
    stem = posixpath.splitext(posixpath.basename(src))[0]
    module = "nnbasics" if stem == "index" else stem

    def link(m):
        name = m.group(1)
        identifier = name if name.split(".")[0] == "nnbasics" else f"{module}.{name}"
        title = name.rsplit(".", 1)[-1] if m.group(0).count("~") else name
        return f'<autoref identifier="{identifier}" optional><code>{title}</code></autoref>'

    return _ROLE.sub(link, html)


def _notebooks() -> list[pathlib.Path]:
    return sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))


def _fence(text: str, lang: str = "text") -> list[str]:
    ticks = "````" if "```" in text else "```"
    return [f"{ticks}{lang}", text.rstrip("\n"), ticks, ""]


def _tutorial(path: pathlib.Path) -> tuple[str, dict[str, bytes]]:
    """A notebook as Markdown with its committed outputs, and its images by file name."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    lines = [
        f"<!-- generated from notebooks/{path.name} by tools/docs_hooks.py -->",
        "",
    ]
    images: dict[str, bytes] = {}
    for i, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            lines += [cell.source, ""]
            if i == 0:  # after the title: where the notebook lives and how it is tested
                lines += [
                    f'!!! note "The notebook `notebooks/{path.name}`"',
                    "    Shown with the outputs committed with it. Its cells run in order on one",
                    "    kernel (`tests/test_notebooks.py` executes it top to bottom), so a block",
                    "    below may use names an earlier one defined.",
                    "",
                ]
            continue
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        lines += _fence(cell.source, "python")
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                lines += _fence(output.text)
            elif output.output_type in ("execute_result", "display_data"):
                data = output.get("data", {})
                if "image/png" in data:
                    name = f"{path.stem}_{len(images) + 1}.png"
                    images[name] = base64.b64decode(data["image/png"])
                    lines += [f"![output]({name})", ""]
                elif "text/plain" in data:
                    lines += _fence(data["text/plain"])
            elif output.output_type == "error":
                lines += _fence("\n".join(output.get("traceback", [])))
    return "\n".join(lines), images


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
        if isinstance(entry, dict) and "Tutorials" in entry:
            generated = [{_title(p): f"tutorials/{p.stem}.md"} for p in _notebooks()]
            nav[i] = {"Tutorials": generated + entry["Tutorials"]}
    return config


def _title(path: pathlib.Path) -> str:
    """The notebook's first heading, without its number: "Logistic regression and ..."."""
    import json

    first = json.loads(path.read_text())["cells"][0]["source"]
    heading = "".join(first).splitlines()[0].lstrip("# ")
    return heading.split("·", 1)[-1].strip()


def on_files(files, config):
    pages = {"api/index.md": _top_level_page()}
    for module in _public_modules():
        pages[f"api/{module}.md"] = f"# `{module}`\n\n::: {module}\n"
    for notebook in _notebooks():
        text, images = _tutorial(notebook)
        pages[f"tutorials/{notebook.stem}.md"] = text
        for name, data in images.items():
            files.append(File.generated(config, f"tutorials/{name}", content=data))
    for src, content in pages.items():
        files.append(File.generated(config, src, content=content))
    if CLI_PAGE.read_text() != _cli_page():
        log.warning("docs/cli.md differs from the parsers' help: run python tools/docs_hooks.py")
    return files


if __name__ == "__main__":  # rewrites docs/cli.md from the parsers
    CLI_PAGE.write_text(_cli_page())
