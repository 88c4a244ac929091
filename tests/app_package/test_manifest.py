from __future__ import annotations

import json
import os
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.packaging import validate_app
from tests.app_package.conftest import REPO

LOCALES = ("en", "fr", "es", "ru", "de", "pt-BR")
APP_KEYS = ("name", "short_description", "long_description", "installation_instructions")
DELETE = object()

Mutation = Callable[[Path], None]


def test_the_real_app_validates_clean():
    assert validate_app(REPO) == []


def test_the_manifest_is_a_private_v2_sidebar_and_nav_bar_app_served_by_the_service():
    manifest = json.loads((REPO / "manifest.json").read_text())
    assert manifest["private"] is True and manifest["frameworkVersion"] == "2.0"
    assert manifest["location"] == {"support": {"ticket_sidebar": {"url": "{{setting.service_url}}/sidebar",
                                                                   "flexible": True},
                                                "nav_bar": {"url": "{{setting.service_url}}/incidents"}}}
    # The nav bar shows the app as an icon: Zendesk's marketplace asks for assets/icon_nav_bar.svg.
    assert (REPO / "assets" / "icon_nav_bar.svg").read_text().startswith("<svg ")
    assert manifest["parameters"] == [{"name": "service_url", "type": "url", "required": True, "secure": False}]


def test_zendesk_signs_each_opening_of_the_sidebar():
    """signedUrls: Zendesk POSTs its RS256 token naming the agent to the page; no shared secret
    exists that the agent's browser could get Zendesk's proxy to sign any claims with."""
    manifest = json.loads((REPO / "manifest.json").read_text())
    assert manifest["signedUrls"] is True
    assert not [parameter for parameter in manifest["parameters"] if parameter.get("secure")]


def translated_texts(locale: str) -> set[str]:
    """Every string of ``translations/<locale>.json`` but the app's name, which is not translated."""
    app = json.loads((REPO / "translations" / f"{locale}.json").read_text(encoding="utf-8"))["app"]
    assert set(app["parameters"]) == {"service_url"}
    return {app[key] for key in APP_KEYS[1:]} | {
        text for parameter in app["parameters"].values() for text in (parameter["label"], parameter["helpText"])}


@pytest.mark.parametrize("locale", LOCALES)
def test_each_locale_describes_the_app_and_labels_every_parameter(locale):
    texts = translated_texts(locale)
    assert len(texts) == len(APP_KEYS) - 1 + 2 and all(text.strip() for text in texts)
    if locale != "en":
        assert not texts & translated_texts("en"), "a translation is still the English text"


@pytest.mark.parametrize(("path", "size"), [("assets/logo.png", 320), ("assets/logo-small.png", 128)])
def test_logos_are_rgba_pngs_of_the_marketplace_sizes(path, size):
    data = (REPO / path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert (width, height, depth, colour) == (size, size, 8, 6)


def edit(path: str, dotted: str, value: Any) -> Mutation:
    """Set (or, with DELETE, remove) ``a.b.0.c`` inside a JSON file of the app."""
    def mutate(root: Path) -> None:
        data = json.loads((root / path).read_text(encoding="utf-8"))
        *parents, last = [int(k) if k.isdigit() else k for k in dotted.split(".")]
        node = data
        for key in parents:
            node = node[key]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
        (root / path).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return mutate


def manifest(dotted: str, value: Any) -> Mutation:
    return edit("manifest.json", dotted, value)


def write(path: str, content: str | bytes) -> Mutation:
    def mutate(root: Path) -> None:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            (root / path).write_bytes(content)
        else:
            (root / path).write_text(content, encoding="utf-8")
    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(root: Path) -> None:
        for mutation in mutations:
            mutation(root)
    return mutate


def remove(path: str) -> Mutation:
    return lambda root: (root / path).unlink()


def move_manifest(root: Path) -> None:
    (root / "outage-desk").mkdir()
    shutil.move(root / "manifest.json", root / "outage-desk" / "manifest.json")


def symlink_asset(root: Path) -> None:
    os.symlink("logo.png", root / "assets" / "copy.png")


def ignore_location_asset(root: Path) -> None:
    """A sidebar page shipped in the app, which .zcliignore then leaves out of the zip."""
    (root / "assets" / "page.html").write_text("<!DOCTYPE html><title>page</title>", encoding="utf-8")
    manifest(SIDEBAR_URL, "assets/page.html")(root)
    with (root / ".zcliignore").open("a", encoding="utf-8") as ignore:
        ignore.write("\nassets/page.html\n")


def png_header(width: int, height: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 6, 0,
                                                                                  0, 0)


SIDEBAR_URL = "location.support.ticket_sidebar.url"


def with_parameter(**changes) -> Mutation:
    """The app's parameters plus a secure one (the app has none of its own), changed as given."""
    service_url = {"name": "service_url", "type": "url", "required": True, "secure": False}
    extra = {"name": "api_key", "type": "text", "required": False, "secure": True, "scopes": ["header"], **changes}
    return manifest("parameters", [service_url, extra])
DUPLICATE_PRIVATE = ('{"name": "Outage Desk", "author": {"name": "a", "email": "a@b.example"}, "defaultLocale": "en",'
                     ' "private": true, "private": false}')

BROKEN = [
    # validations/manifest.rb
    ("no author", manifest("author", DELETE), "Missing required field in manifest: author"),
    ("no defaultLocale translation file", remove("translations/en.json"),
     "Missing translation file for locale 'en'."),
    ("invalid defaultLocale", manifest("defaultLocale", "English"), "English is not a valid default locale."),
    ("location URL to a missing asset", manifest(SIDEBAR_URL, "assets/missing.html"),
     "assets/missing.html is either an invalid location URI, refers to a missing asset, or does not use HTTPS."),
    ("location URL over plain http", manifest(SIDEBAR_URL, "http://desk.example.com/sidebar"),
     "http://desk.example.com/sidebar is either an invalid location URI"),
    ("location asset left out by .zcliignore", ignore_location_asset,
     "assets/page.html is either an invalid location URI"),
    ("flexible not a boolean", manifest("location.support.ticket_sidebar.flexible", "yes"),
     "yes is an invalid type for the flexible location parameter."),
    ("no location", manifest("location", DELETE), "Missing required field in manifest: location"),
    ("unknown location", manifest("location.support", {"ticket_footer": {"url": "assets/iframe.html"}}),
     "ticket_footer is an invalid location in Support."),
    ("unknown host", manifest("location", {"helpdesk": {"ticket_sidebar": "assets/iframe.html"}}),
     "helpdesk is an invalid host for apps."),
    ("v1 location list", manifest("location", ["ticket_sidebar"]),
     "App locations need to be URLs for this framework version."),
    ("no frameworkVersion", manifest("frameworkVersion", DELETE),
     "Missing required field in manifest: frameworkVersion"),
    ("framework v1", manifest("frameworkVersion", "1.0"),
     "1.0 is not a valid framework version. Available versions are: 2.0."),
    ("private not a boolean", manifest("private", "yes"), 'private must be a boolean value, got "yes".'),
    ("private null", manifest("private", None), 'private must be a boolean value, got "".'),
    ("version not a string", manifest("version", 1), 'version must be a string, got "1".'),
    ("author url not a URL", manifest("author.url", "outage-desk.example"),
     'author url must be a valid URL, got "outage-desk.example".'),
    ("domainWhitelist not a list", manifest("domainWhitelist", "desk.example.com"),
     "The manifest field domainWhitelist need to be an array containing strings"),
    ("unknown experiment", manifest("experiments", {"fastLane": True}),
     "Manifest specifies unknown or unavailable experiment: fastLane"),
    ("scopes on a non-secure parameter", with_parameter(secure=False),
     'parameters[name="api_key"].scopes cannot be defined in a non-secure parameter.'),
    ("unknown scope", with_parameter(scopes=["header", "cookie"]),
     'parameters[name="api_key"].scopes contains invalid values: cookie.'),
    ("empty scopes", with_parameter(scopes=[]), 'parameters[name="api_key"].scopes cannot be empty.'),
    ("required not a boolean", manifest("parameters.0.required", "yes"),
     'parameters[name="service_url"].required must be a boolean value, got "yes".'),
    ("unknown parameter type", with_parameter(type="password"), "password is an invalid parameter type."),
    ("parameter called name", manifest("parameters.0.name", "name"), "Can't call a parameter 'name'"),
    ("duplicate parameter", with_parameter(name="service_url"),
     'Duplicate app parameters defined: ["service_url"]'),
    ("hidden and required", manifest("parameters.0.type", "hidden"),
     "service_url is set to hidden and cannot be required."),
    ("parameters not a list", manifest("parameters", {}), "App parameters must be an array."),
    ("oauth without its keys", manifest("oauth", {"client_id": "desk"}),
     "Missing required oauth fields in manifest: client_secret, authorize_uri, access_token_uri"),
    ("malformed manifest", write("manifest.json", '{"name": "Outage Desk",'), "manifest is not proper JSON."),
    ("manifest not an object", write("manifest.json", "[]"), "manifest is not proper JSON."),
    ("duplicate manifest key", write("manifest.json", DUPLICATE_PRIVATE),
     'Duplicate keys are specified in the manifest.json file. Duplicate reference in manifest: "private".'),
    ("manifest in a subdirectory", move_manifest,
     "Could not find manifest.json in the root of the zip file, but outage-desk/manifest.json was found."),
    # validations/translations.rb
    ("malformed translation", write("translations/fr.json", '{"app": '), "translations/fr.json is not valid JSON."),
    ("translation not an object", write("translations/fr.json", "[]"), "translations/fr.json is not a JSON object."),
    ("translation null", write("translations/fr.json", "null"), "translations/fr.json is not a JSON object."),
    ("translation file not named by locale", write("translations/french.json", "{}"),
     "translations/french.json is not a valid locale."),
    ("en.json without the app name", edit("translations/en.json", "app.name", DELETE),
     "Missing required key from translations/en.json: name"),
    ("parameter translation without label", edit("translations/en.json", "app.parameters.service_url.label", DELETE),
     "Missing required key label on leaf service_url from translations/en.json"),
    ("public app without Marketplace strings",
     both(manifest("private", False), edit("translations/en.json", "app.short_description", DELETE)),
     "Missing required key from translations/en.json: short_description"),
    # validations/marketplace.rb, mime.rb, banner.rb, requirements.rb
    ("symlink", symlink_asset, "Symlinks are not allowed in the zip file"),
    ("zip file", write("assets/old.zip", b"PK\x03\x04rest"), "Unsupported MIME type detected in assets/old.zip."),
    ("shell script", write("assets/deploy.sh", "echo hi\n"), "Unsupported MIME type detected in assets/deploy.sh."),
    ("gzip by content", write("assets/fonts.dat", b"\x1f\x8b\x08\x00"),
     "Unsupported MIME type detected in assets/fonts.dat."),
    ("banner of the wrong size", write("assets/banner.png", png_header(100, 100)),
     "Invalid banner image dimensions. Must be 830x200px."),
    ("requirements we cannot check", write("requirements.json", "{}"), "requirements.json is not checked offline"),
]


@pytest.mark.parametrize(("mutate", "expected"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_each_rule_catches_its_broken_variant(app_copy, mutate, expected):
    mutate(app_copy)
    errors = validate_app(app_copy)
    assert any(expected in error for error in errors), errors


def test_a_well_formed_banner_passes(app_copy):
    write("assets/banner.png", png_header(1660, 400))(app_copy)
    assert validate_app(app_copy) == []


def test_a_team_may_whitelist_its_own_service_domain(app_copy):
    manifest("domainWhitelist", ["outage-desk.acme.example"])(app_copy)
    assert validate_app(app_copy) == []


def test_translation_rules_wait_for_a_clean_manifest(app_copy):
    """package.rb checks translations only once the manifest has no errors."""
    manifest("author", DELETE)(app_copy)
    write("translations/fr.json", "[]")(app_copy)
    assert validate_app(app_copy) == ["Missing required field in manifest: author"]
