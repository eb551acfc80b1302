"""The theme app extension: an app embed block (target body) with the merchant's settings, its
strings in en/he/fa, the widget's files identical to storefront/, and Shopify's theme-check clean."""

import json
import re
import shutil
import subprocess
import tomllib
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from integrations.shopify.theme_extension import (
    EXTENSION_DIR,
    ROOT,
    SOURCE_DIR,
    WIDGET_ASSETS,
    extension_assets_stale,
    extension_assets_sync,
)

BLOCK = EXTENSION_DIR / "blocks" / "comeback-embed.liquid"
NODE = shutil.which("node")


def schema() -> dict:
    match = re.search(r"{%-?\s*schema\s*-?%}(.*?){%-?\s*endschema\s*-?%}", BLOCK.read_text(encoding="utf-8"), re.S)
    assert match, "the block has a {% schema %}"
    return json.loads(match.group(1))


def keys(tree: dict, prefix: str = "") -> set[str]:
    out: set[str] = set()
    for key, value in tree.items():
        out |= keys(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
    return out


def test_the_extension_is_a_theme_extension_with_an_app_embed_block() -> None:
    config = tomllib.loads((EXTENSION_DIR / "shopify.extension.toml").read_text(encoding="utf-8"))
    assert config["type"] == "theme" and config["name"] == "comeback-widget"
    block = schema()
    assert block["target"] == "body"  # an app embed, switched on in the theme editor's App embeds
    settings = {s["id"]: s for s in block["settings"]}
    assert settings["accent"]["type"] == "color" and settings["accent"]["default"] == "#4a2f8f"
    assert settings["position"]["type"] == "select"
    assert [o["value"] for o in settings["position"]["options"]] == ["auto", "right", "left"]
    assert settings["label"]["type"] == "text"
    liquid = BLOCK.read_text(encoding="utf-8")
    for needed in ("customer.id", "request.locale.iso_code", "shop.permanent_domain", "block.settings.accent",
                   "block.settings.position", "block.settings.label", "'comeback-widget.js' | asset_url",
                   "'comeback-widget.css' | asset_url", "data-comeback-widget"):
        assert needed in liquid, needed


def test_storefront_and_schema_strings_exist_in_english_hebrew_and_persian() -> None:
    locales = EXTENSION_DIR / "locales"
    strings = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in locales.glob("*.json")}
    assert set(strings) == {"en.default.json", "he.json", "fa.json",
                            "en.default.schema.json", "he.schema.json", "fa.schema.json"}
    for kind in ("", ".schema"):
        english = keys(strings[f"en.default{kind}.json"])
        for lang in ("he", "fa"):
            assert keys(strings[f"{lang}{kind}.json"]) == english, (lang, kind)
    assert strings["he.json"]["widget"]["launcher"] == "מועדון הטבות"
    assert strings["fa.json"]["widget"]["launcher"] == "باشگاه مشتریان"
    # every "t:" in the schema names an English schema string
    used = set(re.findall(r'"t:([\w.]+)"', json.dumps(schema())))
    assert used and used <= keys(strings["en.default.schema.json"])


def test_the_extensions_widget_files_are_copies_of_storefront() -> None:
    stale = extension_assets_stale()
    assert not stale, f"run `python manage.py shopify_extension_assets`: {stale} differ from storefront/"
    call_command("shopify_extension_assets", "--check", stdout=StringIO())


def test_the_copy_command_brings_a_changed_widget_into_the_extension(tmp_path: Path) -> None:
    source, extension = tmp_path / "storefront", tmp_path / "extension"
    source.mkdir()
    for name in WIDGET_ASSETS:
        shutil.copyfile(SOURCE_DIR / name, source / name)
    assert extension_assets_stale(source=source, extension=extension) == list(WIDGET_ASSETS)
    assert extension_assets_sync(source=source, extension=extension) == list(WIDGET_ASSETS)
    (source / "comeback-widget.css").write_text(".cbw { color: red }\n", encoding="utf-8")
    assert extension_assets_stale(source=source, extension=extension) == ["comeback-widget.css"]
    assert extension_assets_sync(source=source, extension=extension) == ["comeback-widget.css"]
    assert (extension / "assets" / "comeback-widget.css").read_text(encoding="utf-8") == ".cbw { color: red }\n"
    assert extension_assets_stale(source=source, extension=extension) == []


def test_the_check_command_fails_on_a_stale_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.management.commands import shopify_extension_assets as command

    monkeypatch.setattr(command, "extension_assets_stale", lambda: ["comeback-widget.js"])
    with pytest.raises(CommandError, match="comeback-widget.js"):
        call_command("shopify_extension_assets", "--check", stdout=StringIO())


@pytest.mark.skipif(NODE is None, reason="theme-check runs on Node (apt-get install nodejs npm)")
def test_shopifys_theme_check_finds_no_offense() -> None:
    """@shopify/theme-check-node, pinned in package.json/package-lock.json (installed with npm ci
    when node_modules is missing), with its theme-app-extension checks."""
    if not (ROOT / "node_modules" / "@shopify" / "theme-check-node").is_dir():
        npm = shutil.which("npm")
        assert npm, "node is installed but npm is not: cannot install theme-check (apt-get install npm)"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True, timeout=600,
                       capture_output=True)
    run = subprocess.run([str(NODE), "extensions/theme-check.cjs", str(EXTENSION_DIR)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    files = re.search(r"theme-check: (\d+) files, 0 offenses", run.stdout)
    assert files and int(files.group(1)) >= 7, run.stdout  # the block and the six locale files at least


def test_theme_check_would_fail_a_broken_block(tmp_path: Path) -> None:
    """The linter really runs: a block with a parser-blocking script and an unknown filter fails."""
    if NODE is None or not (ROOT / "node_modules" / "@shopify" / "theme-check-node").is_dir():
        pytest.skip("needs node and npm ci (the test above installs it)")
    broken = tmp_path / "comeback-widget"
    shutil.copytree(EXTENSION_DIR, broken)
    block = broken / "blocks" / "comeback-embed.liquid"
    block.write_text(block.read_text(encoding="utf-8").replace(" defer></script>", "></script>{{ 1 | nope }}"),
                     encoding="utf-8")
    run = subprocess.run([str(NODE), "extensions/theme-check.cjs", str(broken)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "[ParserBlockingScript]" in run.stdout and "[UnknownFilter]" in run.stdout
