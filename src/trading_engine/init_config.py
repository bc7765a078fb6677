"""``init-config``: the commented default configuration file, rendered from the models.

Every key with its default, its description and its bounds or choices as a comment; the file reads
back (``ConfigLoader.load``) to the same configuration. Secrets are written masked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml
from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from trading_engine.config import ConfigLoader, SystemConfig, default_config, unwrap_annotation
from trading_engine.errors import ConfigError

__all__ = [
    "KEYS_BEGIN",
    "KEYS_END",
    "render_config_yaml",
    "render_keys_table",
    "replace_keys_table",
    "write_default_config",
]


def write_default_config(output_path: str | Path | None = None, *, overwrite: bool = False) -> Path:
    """Write a commented default configuration (EURUSD, M1, ema_cross); returns its path."""
    path = Path(output_path) if output_path is not None else ConfigLoader.DEFAULT_PATH
    if path.exists() and not overwrite:
        raise ConfigError("file exists; refusing to overwrite it", source=str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_config_yaml(default_config()), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write: {exc.strerror or exc}", source=str(path)) from None
    return path


_BOUND_TEXT = ((Ge, "ge", ">="), (Gt, "gt", ">"), (Le, "le", "<="), (Lt, "lt", "<"))


def _field_comment(info: FieldInfo) -> str:
    parts = [info.description or ""]
    bounds = []
    for meta in info.metadata:
        for kind, attribute, symbol in _BOUND_TEXT:
            if isinstance(meta, kind):
                bounds.append(f"{symbol} {getattr(meta, attribute)}")
    if bounds:
        parts.append(f"[{', '.join(bounds)}]")
    annotation = unwrap_annotation(info.annotation)
    if get_origin(annotation) is Literal:
        parts.append("[" + " | ".join(str(a) for a in get_args(annotation)) + "]")
    return " ".join(p for p in parts if p)


def _yaml_scalar(value: Any) -> str:
    return (
        yaml.safe_dump(value, default_flow_style=True, sort_keys=False)
        .strip()
        .removesuffix("\n...")
    )


def _render_field(
    name: str, info: FieldInfo, sub: Any, value: Any, indent: int, comment_above: bool = False
) -> list[str]:
    pad = "  " * indent
    comment = _field_comment(info)
    if isinstance(sub, BaseModel):
        head = [f"{pad}# {comment}"] if comment and comment_above else []
        return [*head, f"{pad}{name}:", *_render_model(sub, value, indent + 1)]
    if isinstance(sub, list) and sub and isinstance(sub[0], BaseModel):
        lines = [f"{pad}{name}:"]
        for item, item_data in zip(sub, value, strict=True):
            body = _render_model(item, item_data, indent + 2)
            first = next(i for i, line in enumerate(body) if not line.lstrip().startswith("#"))
            body[first] = f"{pad}  - {body[first].lstrip()}"
            lines.extend(body)
        return lines
    return [f"{pad}{name}: {_yaml_scalar(value)}" + (f"  # {comment}" if comment else "")]


def _render_model(model: BaseModel, data: Mapping[str, Any], indent: int) -> list[str]:
    lines: list[str] = []
    for name, info in type(model).model_fields.items():
        field = _render_field(name, info, getattr(model, name), data[name], indent, True)
        if _ignored(model, name):  # shown, but not set: check-config would note it as ignored
            pad = "  " * indent
            field = [f"{pad}# {line.removeprefix(pad)}" for line in field]
        lines.extend(field)
    return lines


def _ignored(model: BaseModel, name: str) -> bool:
    """``name`` is a key ``model``'s section accepts and ignores (its ``ignored()`` says so)."""
    if not callable(getattr(model, "ignored", None)):
        return False
    alone = type(model).model_validate({name: getattr(model, name)})
    return bool(alone.ignored())  # type: ignore[attr-defined]


_STRATEGIES_DOC = "Strategies, one entry per instance; ema_cross is built in."


def render_config_yaml(config: SystemConfig) -> str:
    """``config`` as commented YAML that ``ConfigLoader.load`` reads back unchanged.

    Secrets are written masked: a rendered password is the mask, never the password.
    """
    data = config.model_dump(mode="json")
    lines: list[str] = [
        "# trading-engine configuration. Every key is optional except trading.symbols/timeframes.",
        "# Environment overrides: TRADING_ENGINE__SECTION__KEY=value, and the seed's variables",
        "# (TRADING_SYMBOL, RISK_MAX_POSITIONS, ...). Put the account password in the environment:",
        "# TRADING_ENGINE__TERMINAL__PASSWORD.",
    ]
    for name, info in SystemConfig.model_fields.items():
        sub = getattr(config, name)
        doc = type(sub).__doc__ if isinstance(sub, BaseModel) else _STRATEGIES_DOC
        lines += ["", f"# {(doc or name).strip().splitlines()[0]}"]
        lines.extend(_render_field(name, info, sub, data[name], 0))
    return "\n".join(lines) + "\n"


# --- the README's key table -------------------------------------------------------------------

KEYS_BEGIN = "<!-- config-keys: generated by scripts/readme_keys.py from the models -->"
KEYS_END = "<!-- config-keys: end -->"


def _bounds_text(info: FieldInfo) -> str:
    bounds = [
        f"{symbol} {getattr(meta, attribute)}"
        for meta in info.metadata
        for kind, attribute, symbol in _BOUND_TEXT
        if isinstance(meta, kind)
    ]
    annotation = unwrap_annotation(info.annotation)
    if get_origin(annotation) is Literal:
        bounds.append(" \\| ".join(f"`{a}`" for a in get_args(annotation)))
    item = _item_model(annotation)
    if item is not None:
        bounds.append("list of `{" + ", ".join(item.model_fields) + "}`")
    return ", ".join(bounds)


def _item_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a list's (or tuple's) items, if the items are models."""
    if get_origin(annotation) in (list, tuple):
        args = [a for a in get_args(annotation) if a is not Ellipsis]
        if len(args) == 1 and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            return args[0]
    return None


def _model_of(annotation: Any) -> type[BaseModel] | None:
    annotation = unwrap_annotation(annotation)
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _default_text(info: FieldInfo, value: Any, present: bool) -> str:
    if info.is_required():
        return "required"
    if not present:
        value = info.get_default(call_default_factory=True)
        value = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    text = json.dumps(value, ensure_ascii=False)
    if len(text) <= 40:
        return f"`{text}`"
    return "one entry" if len(value) == 1 else f"{len(value)} entries (see `init-config`)"


def _key_rows(model: type[BaseModel], data: Mapping[str, Any] | None, prefix: str) -> list[str]:
    rows: list[str] = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        present = data is not None and name in data
        value = data[name] if present and data is not None else None
        sub = _model_of(info.annotation)
        if sub is not None and (not present or isinstance(value, dict)):
            if type(None) in get_args(info.annotation):
                default = "`null`" if info.get_default(call_default_factory=True) is None else "set"
                rows.append(
                    f"| `{key}` | {default} | the keys below, or `null` | {info.description} |"
                )
            nested = value if present and isinstance(value, dict) else None
            rows.extend(_key_rows(sub, nested, f"{key}."))
            continue
        default = _default_text(info, value, present)
        meaning = (info.description or "").replace("|", "\\|")
        rows.append(f"| `{key}` | {default} | {_bounds_text(info)} | {meaning} |")
    return rows


def render_keys_table() -> str:
    """The README's table of every configuration key: default, bounds or choices, meaning.

    One row per leaf key of ``SystemConfig`` (nested sections flattened to dotted keys), then the
    keys of one ``strategies`` entry; everything comes from the models' fields.
    """
    from trading_engine.strategy.config import StrategyConfig

    head = ["| key | default | range / values | meaning |", "|---|---|---|---|"]
    data = default_config().model_dump(mode="json")
    system = _key_rows(SystemConfig, data, "")
    entries = _key_rows(StrategyConfig, None, "strategies[].")
    between = ["", "Each entry of `strategies`:", ""]
    return "\n".join([KEYS_BEGIN, *head, *system, *between, *head, *entries, KEYS_END])


def replace_keys_table(readme: str) -> str:
    """``readme`` with the text between the key-table markers replaced by ``render_keys_table``."""
    start, end = readme.find(KEYS_BEGIN), readme.find(KEYS_END)
    if start < 0 or end < start:
        raise ValueError("README has no config-keys markers")
    return readme[:start] + render_keys_table() + readme[end + len(KEYS_END) :]
