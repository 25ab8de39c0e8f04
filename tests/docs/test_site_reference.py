"""The API reference of the built site: every public name has an entry, constants included.

The public names are those ``tools/public_api.py`` enumerates (each public module's
``__all__``). mkdocstrings renders a member only if it has a docstring, so a constant
without its attribute docstring (a string literal right after the assignment) has no
entry, and fails here.
"""

import html
import importlib
import inspect
import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from public_api import public_modules, public_names  # noqa: E402


def _anchors(page: pathlib.Path) -> set[str]:
    return set(re.findall(r'id="([^"]+)"', page.read_text()))


def _public() -> list[tuple[str, str, object]]:
    found = []
    for module in public_modules():
        imported = importlib.import_module(module)
        found += [(module, name, getattr(imported, name)) for name in public_names(imported)]
    return found


def test_constants_are_counted():
    """The enumeration reaches the constants and the graph's nodes, not only functions."""
    names = {f"{m}.{n}" for m, n, _ in _public()}
    for expected in (
        "nnbasics.activations.HIDDEN",
        "nnbasics.losses.OUTPUT",
        "nnbasics.data.DATASETS",
        "nnbasics.models.FORMAT_VERSION",
        "nnbasics.train.MONITORS",
        "nnbasics.train.HISTORY_KEYS",
        "nnbasics.graph.dense",
        "nnbasics.graph.activation",
        "nnbasics.graph.loss",
    ):
        assert expected in names
    constants = [n for _, n, obj in _public() if not callable(obj) and not inspect.ismodule(obj)]
    assert len(constants) >= 20, constants


@pytest.mark.slow
def test_every_public_name_has_a_reference_entry(built_site):
    api = built_site / "api"
    missing = []
    for module, name, obj in _public():
        if inspect.ismodule(obj):
            continue
        if f"{module}.{name}" not in _anchors(api / f"{module}.html"):
            missing.append(f"{module}.{name}")
    assert not missing, f"no reference entry (no docstring?) for {missing}"


@pytest.mark.slow
def test_top_level_page_links_every_name_to_its_public_entry(built_site):
    import nnbasics

    page = (built_site / "api" / "index.html").read_text()
    for name in nnbasics.__all__:
        if inspect.ismodule(getattr(nnbasics, name)):
            continue
        link = re.search(rf'href="([^"#]+)#([^"]+)"><code>nnbasics\.{name}</code>', page)
        assert link, f"nnbasics.{name} has no link"
        target, anchor = link.groups()
        assert "._" not in anchor, f"nnbasics.{name} is shown under a private path: {anchor}"
        assert anchor in _anchors(built_site / "api" / target), (name, target, anchor)


@pytest.mark.slow
def test_no_sphinx_role_left_raw(built_site):
    """`:func:`load`` in a docstring becomes a link or code, never the role's text."""
    raw = {
        page.name: re.findall(r":(?:func|class|data|attr|meth|mod):<code>[^<]*</code>", text)
        for page in (built_site / "api").glob("*.html")
        if (text := page.read_text())
    }
    assert not any(raw.values()), {k: v for k, v in raw.items() if v}
    data = (built_site / "api" / "nnbasics.data.html").read_text()
    assert 'href="#nnbasics.data.load"><code>load</code></a>' in data


@pytest.mark.slow
def test_optim_module_docstring_renders_a_table_with_typeset_symbols(built_site):
    page = (built_site / "api" / "nnbasics.optim.html").read_text()
    start = page.index('id="nnbasics.optim"')
    intro = page[start : page.index("</table>", start)]
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*</tr>", intro, re.S)
    cells = [tuple(re.sub(r"<[^>]+>", "", html.unescape(c)) for c in row) for row in rows]
    assert ("optax.sgd(lr)", "sgd(lr)") in cells, cells[:3]
    assert ("PyTorch Adam(lr, (b1, b2), eps, w)", "adam(lr, b1, b2, eps, weight_decay=w)") in cells
    assert len(cells) >= 10
    text = re.sub(r"<[^>]+>", "", html.unescape(intro))
    assert "θₜ₊₁ = θₜ + uₜ" in text
    assert "θ_{t+1}" not in text and "\\ s" not in text


def _links(page: pathlib.Path) -> list[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)  # not in code
    return re.findall(r"\]\(([^)\s]+)\)", text)


def test_links_resolve_in_the_repository():
    """A relative link of README, CONTRIBUTING or a docs page names a file that exists,
    so that it works on GitHub; the site maps notebooks and modules to its own pages."""
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").rglob("*.md")]
    broken = [
        f"{page.relative_to(ROOT)}: {link}"
        for page in pages
        for link in _links(page)
        if not re.match(r"[a-z]+:|#", link) and not (page.parent / link.split("#")[0]).exists()
    ]
    assert not broken, broken


def test_cli_page_is_the_parsers_help():
    pytest.importorskip("mkdocs", reason="needs the docs extra")
    import docs_hooks

    assert (ROOT / "docs" / "cli.md").read_text() == docs_hooks._cli_page(), (
        "docs/cli.md is stale: python tools/docs_hooks.py rewrites it"
    )
