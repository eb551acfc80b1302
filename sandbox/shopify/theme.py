"""Theme app extensions on the sandbox storefront: the app's app embed blocks rendered with a real
Liquid engine (python-liquid), given the objects and filters Shopify gives a block.

What `shopify app deploy` would push is read from the extension's folder: ``shopify.extension.toml``
(``type = "theme"``), ``blocks/*.liquid`` with their ``{% schema %}``, ``locales/*.json`` and
``assets/``, which the sandbox serves as Shopify's CDN does at
``{sandbox}/extensions/<handle>/<version>/assets/<file>`` (``version``: a hash of the assets, so a
changed file gets a new URL).  A shop's merchant switches an embed on in the theme editor:
:meth:`Shop.app_embed_set` here.

Objects given to a block: ``block`` (``id``, ``type``, ``settings``: the schema's defaults under the
merchant's choices, ``shopify_attributes``), ``customer`` (nil for a guest), ``shop``, ``request``
(``locale``, ``design_mode``, ``page_type``, ``path``), ``routes``, ``localization``.  Filters:
Liquid's standard ones plus ``asset_url``, ``t``, ``stylesheet_tag``, ``script_tag``, ``json``.
"""

from __future__ import annotations

import hashlib
import html
import json
import mimetypes
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liquid import Environment
from liquid.builtin.tags.comment_tag import CommentNode, CommentTag
from liquid.exceptions import LiquidError, LiquidSyntaxError
from liquid.filter import with_context
from liquid.token import TOKEN_EOF, TOKEN_TAG

from .store import SandboxError

#: The repository's extension (the one ``shopify app deploy`` pushes for this app).
DEFAULT_EXTENSION = Path(__file__).resolve().parents[2] / "extensions" / "comeback-widget"
#: Where the filters find the render's state (a name no theme variable uses).
RENDER_STATE = "sandbox_render_state__"
_ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                  ".json": "application/json; charset=utf-8", ".svg": "image/svg+xml"}


class _RawBlockTag(CommentTag):
    """``{% schema %}``: JSON for the theme editor, never output (Shopify reads it separately)."""

    name = "schema"
    end = "endschema"

    def parse(self, stream: Any) -> CommentNode:
        token = stream.eat(TOKEN_TAG)
        text: list[str] = []
        while not (stream.current.kind == TOKEN_TAG and stream.current.value == self.end):
            if stream.current.kind == TOKEN_EOF:
                raise LiquidSyntaxError(f"{self.name} tag was never closed", token=token)
            text.append(stream.current.value)
            next(stream)
        return self.node_class(token, text="".join(text))


class _JavascriptTag(_RawBlockTag):
    name = "javascript"
    end = "endjavascript"


class _StylesheetTag(_RawBlockTag):
    name = "stylesheet"
    end = "endstylesheet"


@dataclass
class RenderState:
    """Per-render data the filters need (kept out of the template's own variables)."""

    asset_base: str
    strings: Mapping[str, Any]
    fallback: Mapping[str, Any]


def _state(context: Any) -> RenderState:
    state = context.globals.get(RENDER_STATE)
    if not isinstance(state, RenderState):
        raise SandboxError("asset_url and t need the sandbox storefront's render state")
    return state


@with_context
def _asset_url(name: object, *, context: Any) -> str:
    return f"{_state(context).asset_base}/{name}"


def _lookup(tree: Mapping[str, Any], key: str) -> Any:
    node: Any = tree
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


@with_context
def _translate(key: object, *, context: Any, **variables: object) -> str:
    """Shopify's ``t``: the active locale's string, else the default locale's, else the key
    (Shopify shows "translation missing"); ``{{ name }}`` placeholders filled from the arguments."""
    state = _state(context)
    text = _lookup(state.strings, str(key))
    if not isinstance(text, str):
        text = _lookup(state.fallback, str(key))
    if not isinstance(text, str):
        return f"translation missing: {key}"
    return re.sub(r"{{\s*(\w+)\s*}}", lambda m: str(variables.get(m.group(1), "")), text)


def _stylesheet_tag(url: object) -> str:
    return f'<link href="{html.escape(str(url))}" rel="stylesheet" type="text/css" media="all" />'


def _script_tag(url: object) -> str:
    return f'<script src="{html.escape(str(url))}" type="text/javascript"></script>'


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def liquid_environment() -> Environment:
    env = Environment()
    for tag in (_RawBlockTag, _JavascriptTag, _StylesheetTag):
        env.add_tag(tag)
    env.add_filter("asset_url", _asset_url)
    env.add_filter("t", _translate)
    env.add_filter("translate", _translate)
    env.add_filter("stylesheet_tag", _stylesheet_tag)
    env.add_filter("script_tag", _script_tag)
    env.add_filter("json", _json)
    return env


@dataclass
class Block:
    handle: str
    source: str
    schema: dict[str, Any]
    template: Any = field(repr=False)

    @property
    def target(self) -> str:
        return str(self.schema.get("target", "section"))

    def defaults(self) -> dict[str, Any]:
        return {s["id"]: s.get("default") for s in self.schema.get("settings", []) if "id" in s}

    def settings_clean(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """What the theme editor would let a merchant save: known setting ids, a select's own
        options, ``#rrggbb`` colours, single-line text; None (or "") resets one to its default."""
        by_id = {s["id"]: s for s in self.schema.get("settings", []) if "id" in s}
        clean: dict[str, Any] = {}
        for key, value in values.items():
            setting = by_id.get(key)
            if setting is None:
                raise SandboxError(f"the block has no setting {key!r} (it has {', '.join(by_id)})")
            if value is None or value == "":
                clean[key] = None
                continue
            kind = setting.get("type")
            text = str(value)
            if kind == "select" and text not in [o.get("value") for o in setting.get("options", [])]:
                raise SandboxError(f"{key}: {text!r} is not one of its options")
            if kind == "color" and not re.fullmatch(r"#[0-9A-Fa-f]{6}", text):
                raise SandboxError(f"{key}: a colour is #rrggbb, not {text!r}")
            if kind == "text" and (len(text) > 500 or "\n" in text):
                raise SandboxError(f"{key}: one line of at most 500 characters")
            clean[key] = text
        return clean


class ThemeExtension:
    """One deployed theme app extension, read from its folder."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        config_file = self.path / "shopify.extension.toml"
        if not config_file.is_file():
            raise SandboxError(f"{self.path} is not an extension (no shopify.extension.toml)")
        config = tomllib.loads(config_file.read_text(encoding="utf-8"))
        if config.get("type") != "theme":
            raise SandboxError(f"{config_file}: type is {config.get('type')!r}, not 'theme'")
        self.handle = str(config.get("name") or self.path.name)
        env = liquid_environment()
        self.blocks: dict[str, Block] = {}
        for file in sorted((self.path / "blocks").glob("*.liquid")):
            source = file.read_text(encoding="utf-8")
            match = re.search(r"{%-?\s*schema\s*-?%}(.*?){%-?\s*endschema\s*-?%}", source, re.S)
            if not match:
                raise SandboxError(f"{file}: an app block needs a {{% schema %}}")
            try:
                self.blocks[file.stem] = Block(file.stem, source, json.loads(match.group(1)), env.from_string(source))
            except (LiquidError, ValueError) as error:  # shopify app deploy refuses such a block
                raise SandboxError(f"{file.relative_to(self.path)}: {error}") from error
        self.locales: dict[str, dict[str, Any]] = {}
        self.default_locale = "en"
        for file in sorted((self.path / "locales").glob("*.json")):
            if file.name.endswith(".schema.json"):
                continue
            name = file.name.removesuffix(".json")
            if name.endswith(".default"):
                name = name.removesuffix(".default")
                self.default_locale = name
            self.locales[name] = json.loads(file.read_text(encoding="utf-8"))
        digest = hashlib.sha256()
        for file in sorted((self.path / "assets").glob("*")):
            digest.update(file.name.encode() + b"\0" + file.read_bytes())
        self.version = digest.hexdigest()[:12]

    @property
    def app_embeds(self) -> list[Block]:
        """The blocks a merchant switches on under App embeds (``target`` head, body or compliance_head)."""
        return [b for b in self.blocks.values() if b.target in ("head", "body", "compliance_head")]

    def asset(self, name: str) -> tuple[bytes, str] | None:
        if not _ASSET_NAME.match(name):
            return None
        file = self.path / "assets" / name
        if not file.is_file():
            return None
        content_type = _CONTENT_TYPES.get(file.suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
        return file.read_bytes(), content_type

    def asset_base(self, cdn_origin: str) -> str:
        return f"{cdn_origin}/extensions/{self.handle}/{self.version}/assets"

    def render_block(self, block: Block, *, cdn_origin: str, locale: str, settings: Mapping[str, Any],
                     objects: Mapping[str, Any]) -> str:
        language = locale.split("-")[0].lower()
        strings = self.locales.get(locale) or self.locales.get(language) or {}
        state = RenderState(asset_base=self.asset_base(cdn_origin), strings=strings,
                            fallback=self.locales.get(self.default_locale, {}))
        values = block.defaults()
        values.update({k: v for k, v in settings.items() if k in values})
        data = dict(objects)
        data["block"] = {"id": f"{self.handle}-{block.handle}", "type": f"shopify://apps/comeback/blocks/{block.handle}",
                         "settings": values, "shopify_attributes": ""}
        data[RENDER_STATE] = state
        try:
            return str(block.template.render(**data))
        except LiquidError as error:  # Shopify prints the error where the block would be
            return f"Liquid error (blocks/{block.handle}.liquid): {html.escape(str(error).splitlines()[0])}"
