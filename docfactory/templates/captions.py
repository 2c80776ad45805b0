"""A template's own caption translations: captions.yaml in its folder, read beside template.yaml.

    Loyalty card:              # the caption, as the template writes it: {{ t("Loyalty card") }}
      de_DE: Kundenkarte
      fr_FR: Carte de fidélité

`t()` looks a caption up here first, then in the built-in table (docfactory.generators.locales), for
this template only. The file is optional; a malformed one is a TemplateError with its line.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

CAPTIONS_FILE = "captions.yaml"
_LOCALE_NAME = re.compile(r"[a-z]{2}_[A-Z]{2}")


def load_captions(folder: Path) -> dict[str, dict[str, str]]:
    """caption -> {locale: text}; {} when the folder has no captions.yaml."""
    from docfactory.templates.registry import TemplateError, _read_text, yaml_line

    path = folder / CAPTIONS_FILE
    if not path.is_file():
        return {}
    text = _read_text(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise TemplateError(path, f"invalid YAML: {getattr(exc, 'problem', exc)}",
                            mark.line + 1 if mark else None) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TemplateError(path, "expected a mapping: caption -> {locale: text}, "
                                  "e.g. 'Loyalty card: {de_DE: Kundenkarte}'")
    out: dict[str, dict[str, str]] = {}
    for caption, by_locale in data.items():
        line = yaml_line(text, [str(caption)])
        if not isinstance(by_locale, dict) or not by_locale:
            raise TemplateError(path, f"caption {caption!r}: expected a mapping of locale -> text, "
                                      "e.g. {de_DE: ...}", line)
        for locale, translated in by_locale.items():
            where = yaml_line(text, [str(caption), str(locale)]) or line
            if not isinstance(locale, str) or not _LOCALE_NAME.fullmatch(locale):
                raise TemplateError(path, f"caption {caption!r}: locale names look like de_DE or en_MY, "
                                          f"not {locale!r}", where)
            if not isinstance(translated, str) or not translated.strip():
                raise TemplateError(path, f"caption {caption!r}: the {locale} text must be a non-empty string, "
                                          f"not {translated!r}", where)
        out[str(caption)] = dict(by_locale)
    return out
