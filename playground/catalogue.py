"""The model catalogue: ``GET /models`` answers as typed records, searched and priced.

Two shapes arrive. The AI/ML API's (``include=pricing,capabilities,modalities`` or
``details=true``) carries names, limits, capabilities and prices; OpenAI, vLLM, llama.cpp and
Ollama list bare ids. Both become the same ``Model``; what a shape does not say is None, shown
as "n/a". The catalogue is provider data, so it is read defensively: no entry, however broken,
makes parsing raise, and prices come only from it (there is no price table of our own).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

MAX_MODELS = 5000  # the AI/ML API lists ~400; a provider listing more is cut, not trusted
MAX_TEXT = 300  # names, developers, ids: a line on a card
MAX_DESCRIPTION = 2000
MAX_LIST = 64  # aliases, tags, capabilities, modalities per model
MAX_RATES = 64
PRICE_KINDS = ("fixed", "variants", "variable")
TOKEN_UNITS = ("token", "tokens")


# -- tolerant readers: a wrong type is "not said", never an exception -------------------------
def _text(value, limit: int = MAX_TEXT) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value[:limit] if value else None


def _count(value) -> int | None:
    """A positive whole number (a context length, a token limit), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and 0 < value < 10**12 else None


def _number(value) -> float | None:
    """A finite, non-negative number; numeric strings count (the provider's own figure)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(value) and value >= 0:
        return float(value)
    return None


def _names(value, limit: int = MAX_LIST) -> tuple[str, ...]:
    """Strings of a list, de-duplicated in order; anything else in it is dropped."""
    if not isinstance(value, list):
        return ()
    seen: dict[str, None] = {}
    for item in value:
        text = _text(item)
        if text is not None and len(seen) < limit:
            seen.setdefault(text, None)
    return tuple(seen)


def _url(value) -> str | None:
    """An http(s) URL or None: it becomes a link, or a document the server fetches."""
    text = _text(value, 2000)
    return text if text and re.match(r"https?://[^\s/]", text, re.IGNORECASE) else None


# -- prices --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rate:
    """One quoted rate: ``price`` USD for ``per`` units (``per`` is 1, 1,000 or 1,000,000)."""

    price: float
    per: float
    unit: str | None = None  # "token", "second", "megapixel", …
    measure: str | None = None  # "input", "output", …; None when the catalogue does not say
    when: tuple[tuple[str, str], ...] = ()  # a variant's conditions, e.g. (("resolution", "720p"),)

    @property
    def per_unit(self) -> float:
        return self.price / self.per

    @property
    def per_million(self) -> float | None:
        """USD per million units, for a token rate; None for seconds, images, …"""
        return self.per_unit * 1_000_000 if self.is_token else None

    @property
    def is_token(self) -> bool:
        return (self.unit or "").lower() in TOKEN_UNITS

    def to_dict(self) -> dict:
        return {"price": self.price, "per": self.per, "unit": self.unit,
                "measure": self.measure, "when": dict(self.when)}


@dataclass(frozen=True)
class Pricing:
    """A model's pricing block: ``kind`` first, then its rates (none for ``variable``)."""

    kind: str  # "fixed" | "variants" | "variable" | "unknown"
    rates: tuple[Rate, ...] = ()
    dimensions: tuple[str, ...] = ()
    currency: str = "USD"

    @property
    def quotable(self) -> bool:
        return self.kind in ("fixed", "variants") and bool(self.rates)

    def token_rates(self, measure: str) -> tuple[Rate, ...]:
        """The token rates for ``measure`` ("input" or "output"), every variant included."""
        return tuple(r for r in self.rates if r.is_token and (r.measure or "").lower() == measure)

    def per_million(self, measure: str) -> tuple[float, float] | None:
        """(lowest, highest) USD per million ``measure`` tokens; equal for a fixed price."""
        values = [r.per_million for r in self.token_rates(measure) if r.per_million is not None]
        return (min(values), max(values)) if values else None

    def to_dict(self) -> dict:
        return {"kind": self.kind, "currency": self.currency, "dimensions": list(self.dimensions),
                "rates": [rate.to_dict() for rate in self.rates]}


def _rate(item, *, unit_key: str, when=None) -> Rate | None:
    if not isinstance(item, dict):
        return None
    price, per = _number(item.get("price")), _number(item.get("per"))
    if price is None or not per:  # a price without its base cannot be read
        return None
    conditions = {}
    if isinstance(when, dict):
        conditions = {str(k)[:MAX_TEXT]: str(v)[:MAX_TEXT] for k, v in list(when.items())[:16]
                      if isinstance(v, (str, int, float, bool))}
    measure = _text(item.get("measure")) or _text(conditions.get("measure"))
    return Rate(price=price, per=per, unit=_text(item.get(unit_key)), measure=measure,
                when=tuple(sorted(conditions.items())))


def parse_pricing(block) -> Pricing | None:
    """A ``pricing`` block as ``Pricing``; None when the entry has none (unknown, not free)."""
    if not isinstance(block, dict):
        return None
    kind = block.get("kind") if block.get("kind") in PRICE_KINDS else "unknown"
    currency = _text(block.get("currency")) or "USD"
    rates: list[Rate] = []
    if kind == "fixed" and isinstance(block.get("units"), list):
        rates = [r for r in (_rate(u, unit_key="name") for u in block["units"][:MAX_RATES]) if r]
    elif kind == "variants" and isinstance(block.get("variants"), list):
        rates = [r for r in (_rate(v, unit_key="unit", when=v.get("when"))
                             for v in block["variants"][:MAX_RATES] if isinstance(v, dict)) if r]
    return Pricing(kind=kind, rates=tuple(rates), dimensions=_names(block.get("dimensions")),
                   currency=currency)


# -- models --------------------------------------------------------------------------------
KINDS = {"chat": ("chat", "language", "completion", "responses", "messages"),
         "embedding": ("embedding",), "image": ("image",), "video": ("video",),
         "audio": ("audio", "speech", "tts", "stt", "voice", "transcri", "music"),
         "moderation": ("moderation",), "rerank": ("rerank",)}


def kind_of(type_: str | None, tags: tuple[str, ...] = ()) -> str | None:
    """The broad kind ("chat", "image", …) from ``type`` and ``playground:`` tags; None: unsaid."""
    words = [tag.split(":", 1)[1].lower() for tag in tags if tag.lower().startswith("playground:")]
    words += [type_.lower()] if type_ else []
    for word in words:
        # Image and video outrank "chat": "openai/image-generations" is not a chat model.
        for kind in ("embedding", "image", "video", "audio", "moderation", "rerank", "chat"):
            if any(hint in word for hint in KINDS[kind]):
                return kind
    return "other" if words else None


@dataclass(frozen=True)
class Model:
    """One model as the catalogue describes it; None (shown "n/a") wherever it says nothing."""

    id: str
    aliases: tuple[str, ...] = ()
    name: str | None = None
    developer: str | None = None
    description: str | None = None
    type: str | None = None  # the provider's endpoint type, e.g. "openai/chat-completions"
    kind: str | None = None  # "chat", "image", "video", "audio", "embedding", … (see kind_of)
    tags: tuple[str, ...] = ()
    context_length: int | None = None
    output_max: int | None = None
    capabilities: tuple[str, ...] | None = None  # None: not listed; unknown names are kept
    input_modalities: tuple[str, ...] | None = None
    output_modalities: tuple[str, ...] | None = None
    pricing: Pricing | None = None
    docs_url: str | None = None
    docs_json: str | None = None  # the model's OpenAPI document (see accepted_parameters)
    url: str | None = None
    released: str | None = None
    cutoff: str | None = None
    owned_by: str | None = None  # the OpenAI-style field, when that is all there is

    @property
    def names(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)

    @property
    def label(self) -> str:
        return self.name or self.id

    def has(self, capability: str) -> bool | None:
        """Whether the catalogue lists ``capability``; None when it lists no capabilities."""
        if self.capabilities is None:
            return None
        return _norm(capability) in {_norm(c) for c in self.capabilities}


def _norm(word: str) -> str:
    return word.strip().lower().replace(" ", "_").replace("-", "_")


def parse_model(item) -> Model | None:
    """One ``data[]`` entry as a ``Model``; None for an entry without a usable id."""
    if isinstance(item, str):  # some servers list bare names
        item = {"id": item}
    if not isinstance(item, dict):
        return None
    model_id = _text(item.get("id"))
    if model_id is None:
        return None
    info = item.get("info") if isinstance(item.get("info"), dict) else {}
    modalities = item.get("modalities") if isinstance(item.get("modalities"), dict) else None
    tags = _names(item.get("tags"))
    type_ = _text(item.get("type"))
    return Model(
        id=model_id,
        aliases=tuple(a for a in _names(item.get("aliases")) if a != model_id),
        name=_text(info.get("name")),
        developer=_text(info.get("developer")),
        description=_text(info.get("description"), MAX_DESCRIPTION),
        type=type_,
        kind=kind_of(type_, tags),
        tags=tags,
        context_length=_count(info.get("contextLength")),
        # maxTokens is the older name of outputMax in the same catalogue
        output_max=_count(info.get("outputMax", info.get("maxTokens"))),
        capabilities=_names(item["capabilities"]) if isinstance(item.get("capabilities"), list)
        else None,
        input_modalities=_names(modalities.get("input")) if modalities is not None
        and isinstance(modalities.get("input"), list) else None,
        output_modalities=_names(modalities.get("output")) if modalities is not None
        and isinstance(modalities.get("output"), list) else None,
        pricing=parse_pricing(item.get("pricing")),
        docs_url=_url(info.get("docsUrl", info.get("docs_url"))),
        docs_json=_url(info.get("docsJson")),
        url=_url(info.get("url")),
        released=_text(info.get("releasedAt"), 40),
        cutoff=_text(info.get("cutoffAt"), 40),
        owned_by=_text(item.get("owned_by")),
    )


@dataclass(frozen=True)
class Catalogue:
    """The parsed catalogue: its models (first entry wins per id) and how to find them."""

    models: tuple[Model, ...] = ()
    detailed: bool = False  # True when entries carry facts beyond ids (the AI/ML API shape)
    skipped: int = 0  # entries without a usable id
    _index: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for model in self.models:
            for name in model.names:
                self._index.setdefault(name.lower(), model)

    def __len__(self) -> int:
        return len(self.models)

    def find(self, name: str) -> Model | None:
        """The model with this id or alias (case-insensitive), as the catalogue docs advise."""
        return self._index.get(name.strip().lower()) if isinstance(name, str) else None

    def capability_names(self) -> tuple[str, ...]:
        """Every capability any model lists, sorted: the picker's filter choices."""
        return tuple(sorted({c for m in self.models for c in m.capabilities or ()}))

    def search(self, query: str = "", *, capabilities: tuple[str, ...] = (),
               kind: str | None = "chat", limit: int = 20) -> list[Model]:
        """Models matching every word of ``query``, best first: an exact id or alias leads."""
        words = [w for w in _norm(query or "")[:200].split("_") if w][:8] if query else []
        wanted = [_norm(c) for c in capabilities if isinstance(c, str) and c.strip()][:16]
        ranked = []
        for position, model in enumerate(self.models):
            # "chat only" keeps models whose kind is not said: a bare id list says nothing.
            if kind is not None and model.kind not in (kind, None):
                continue
            if wanted and not all(model.has(c) for c in wanted):
                continue
            rank = _rank(model, (query or "").strip().lower(), words)
            if rank is not None:
                ranked.append((rank, position, model))
        ranked.sort(key=lambda entry: entry[:2])
        return [model for _, _, model in ranked[:max(0, min(limit, 200))]]


def _rank(model: Model, query: str, words: list[str]) -> int | None:
    """0 exact id/alias, 1 id/alias prefix, 2 name or developer, 3 elsewhere; None: no match."""
    if not words:
        return 3
    names = [n.lower() for n in model.names]
    if query in names:
        return 0
    if any(n.startswith(query) or n.split("/")[-1].startswith(query) for n in names):
        return 1
    haystacks = {
        2: " ".join(filter(None, (model.name, model.developer))).lower(),
        3: " ".join([*names, *(model.capabilities or ()), *(model.input_modalities or ()),
                     *(model.tags or ())]).lower().replace("_", " "),
    }
    everything = haystacks[2] + " " + haystacks[3]
    if not all(word in everything.replace("_", " ") for word in words):
        return None
    return 2 if all(word in haystacks[2] for word in words) else 3


def parse_catalogue(data) -> Catalogue:
    """A ``GET /models`` answer (either shape, or one ``/model/{id}`` object) as a Catalogue."""
    items = data.get("data") if isinstance(data, dict) else data
    if isinstance(items, dict):  # GET /model/{id}: one model, not a list
        items = [items]
    if not isinstance(items, list):
        return Catalogue()
    models: dict[str, Model] = {}
    skipped = 0
    detailed = False
    for item in items[:MAX_MODELS]:
        model = parse_model(item)
        if model is None:
            skipped += 1
            continue
        models.setdefault(model.id, model)
        detailed = detailed or isinstance(item, dict) and any(
            key in item for key in ("info", "pricing", "capabilities", "modalities"))
    return Catalogue(models=tuple(models.values()), detailed=detailed, skipped=skipped)


# -- what a model accepts: its OpenAPI document (info.docsJson) ------------------------------
DOCS_MAX_BYTES = 4_000_000  # the largest AI/ML API model document is ~2 MB
DOCS_MAX_DEPTH = 12  # allOf/anyOf/$ref hops followed looking for properties


def accepted_parameters(document) -> frozenset[str] | None:
    """The request-body parameter names a model's OpenAPI document lists for chat completions.

    ``document`` is the parsed JSON, or its text/bytes (bounded by DOCS_MAX_BYTES). None when
    the document is absent, too big, broken or has no chat-completions body: the caller shows a
    note then, and flags nothing.
    """
    if isinstance(document, (bytes, str)):
        if len(document) > DOCS_MAX_BYTES:
            return None
        try:
            document = json.loads(document)
        except (ValueError, RecursionError):
            return None
    paths = document.get("paths") if isinstance(document, dict) else None
    if not isinstance(paths, dict):
        return None
    names: set[str] = set()
    found = False
    for path, operations in paths.items():
        if not (isinstance(path, str) and path.rstrip("/").endswith("chat/completions")):
            continue
        post = operations.get("post") if isinstance(operations, dict) else None
        schema = _get(post, "requestBody", "content", "application/json", "schema")
        if isinstance(schema, dict):
            found = True
            names |= _properties(schema, document, DOCS_MAX_DEPTH)
    return frozenset(names) if found and names else None


def _get(data, *keys):
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _properties(schema, document: dict, depth: int) -> set[str]:
    """Property names of a schema, through local $ref and allOf/anyOf/oneOf (bounded)."""
    if depth <= 0 or not isinstance(schema, dict):
        return set()
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target = _get(document, *[part.replace("~1", "/").replace("~0", "~")
                                  for part in ref[2:].split("/")])
        return _properties(target, document, depth - 1)
    names = {k for k in schema.get("properties") or {} if isinstance(k, str)} \
        if isinstance(schema.get("properties"), dict) else set()
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key) or [] if isinstance(schema.get(key), list) else []:
            names |= _properties(part, document, depth - 1)
    return names


def unlisted_parameters(body: dict, accepted: frozenset[str] | None) -> tuple[str, ...]:
    """Parameters of ``body`` the model's document does not list; none when it is unknown."""
    if accepted is None or not isinstance(body, dict):
        return ()
    return tuple(sorted(str(k) for k in body if k not in accepted))

