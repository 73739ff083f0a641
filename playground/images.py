"""Images in a conversation: what a file really is (by its bytes), its size, and its caps.

A file's name and its declared type are the visitor's word; the first bytes are the truth.
Only PNG, JPEG, WebP and GIF are accepted. No image is ever decoded beyond the few header
bytes that give its type and pixel size, and nothing here fetches a URL.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGES = 8
MAX_RUN_IMAGE_BYTES = 20 * 1024 * 1024
URL_LIMIT = 2_000
TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
DATA_URL = re.compile(r"data:(image/[a-z+.-]+);base64,([A-Za-z0-9+/=\s]*)\Z", re.IGNORECASE)
REF = re.compile(r"[0-9a-f]{64}")  # a stored image's reference: the SHA-256 of its bytes


class ImageRefused(ValueError):
    """An image the playground will not send, with the reason a person can act on."""


@dataclass(frozen=True)
class Image:
    """An accepted image: its bytes, its sniffed type and what its header says of its size."""

    data: bytes
    mime: str
    width: int | None = None
    height: int | None = None

    @property
    def ref(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        return len(self.data)

    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def sniff(data: bytes) -> str | None:
    """The image type its first bytes declare, or None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    position = 2
    while position + 9 < len(data) and position < 1_000_000:  # SOF is near the start
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        length = struct.unpack(">H", data[position + 2:position + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[position + 5:position + 9])
            return width, height
        position += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = 1 + int.from_bytes(data[24:27], "little")
        return width, 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    return None


def dimensions(data: bytes, mime: str) -> tuple[int, int] | None:
    """Width and height from the header, when it is well formed enough to say."""
    try:
        if mime == "image/png" and len(data) >= 24:
            return struct.unpack(">II", data[16:24])
        if mime == "image/gif" and len(data) >= 10:
            return struct.unpack("<HH", data[6:10])
        if mime == "image/jpeg":
            return _jpeg_size(data)
        if mime == "image/webp":
            return _webp_size(data)
    except struct.error:
        return None
    return None


def accept(data: bytes, label: str = "The image") -> Image:
    """An uploaded file as an Image, or ImageRefused saying why."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRefused(f"{label} is {len(data) / 1048576:.1f} MB; each image may be at "
                           f"most {MAX_IMAGE_BYTES // 1048576} MB.")
    if not data:
        raise ImageRefused(f"{label} is empty.")
    mime = sniff(data)
    if mime is None:
        raise ImageRefused(f"{label} is not a PNG, JPEG, WebP or GIF image (judged by its "
                           "content, not its name).")
    size = dimensions(data, mime)
    return Image(data, mime, *(size or (None, None)))


def from_data_url(url: str, label: str = "The image") -> Image:
    """A pasted or imported ``data:`` URL as an Image (its bytes are checked like an upload)."""
    match = DATA_URL.match(url.strip())
    if not match:
        raise ImageRefused(f"{label} is a data: URL that is not a base64 image.")
    encoded = re.sub(r"\s+", "", match.group(2))
    if len(encoded) * 3 // 4 > MAX_IMAGE_BYTES + 3:
        raise ImageRefused(f"{label} is over {MAX_IMAGE_BYTES // 1048576} MB.")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ImageRefused(f"{label} is a data: URL whose base64 is broken.") from None
    return accept(data, label)


def check_url(url: str, label: str = "The image URL") -> str:
    """A remote image URL the provider will fetch: https only, printable, bounded."""
    url = url.strip()
    if len(url) > URL_LIMIT:
        raise ImageRefused(f"{label} is longer than {URL_LIMIT:,} characters.")
    if not re.fullmatch(r"https://[\x21-\x7e]+", url):
        raise ImageRefused(f"{label} must be an https:// address (or upload the file).")
    return url


def check_totals(sizes: list[int]) -> None:
    """The per-run caps: how many images, and how many bytes in all."""
    if len(sizes) > MAX_IMAGES:
        raise ImageRefused(f"A run may carry at most {MAX_IMAGES} images; this one has "
                           f"{len(sizes)}.")
    if sum(sizes) > MAX_RUN_IMAGE_BYTES:
        raise ImageRefused(f"The images add up to {sum(sizes) / 1048576:.1f} MB; a run may "
                           f"carry at most {MAX_RUN_IMAGE_BYTES // 1048576} MB.")


# -- images in a stored request: a compact reference in place of megabytes of base64 -----------
# A stored run never holds image bytes: each data: URL of its messages becomes a reference to
# the images table (its type, SHA-256 and size), and is made a data: URL again to be re-sent
# or exported. The reference is no URL a provider or a browser would try to fetch.
REF_PREFIX = "image-ref:"  # how a stored image's reference URL begins
REF_URL = re.compile(REF_PREFIX + r"(image/[a-z+.-]+):([0-9a-f]{64}):(\d{1,9})\Z")


def ref_url(image: Image) -> str:
    return f"{REF_PREFIX}{image.mime}:{image.ref}:{image.size}"


def parse_ref_url(url) -> tuple[str, str, int] | None:
    """(mime, ref, bytes) of a stored reference, or None for anything else."""
    match = REF_URL.match(url) if isinstance(url, str) else None
    return (match.group(1), match.group(2), int(match.group(3))) if match else None


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1048576:.1f} MB"


def _map_urls(messages, change):
    """The messages with each image part's URL replaced by ``change(url)`` (None: kept)."""
    if not isinstance(messages, list):
        return messages
    out = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            out.append(message)
            continue
        parts = []
        for part in content:
            image = part.get("image_url") if isinstance(part, dict) else None
            url = image.get("url") if isinstance(image, dict) else None
            new = change(url) if isinstance(url, str) else None
            parts.append(part if new is None else {**part, "image_url": {**image, "url": new}})
        out.append({**message, "content": parts})
    return out


def compact(messages) -> tuple[list, list[Image]]:
    """Messages to store: every image data: URL replaced by its reference; and those images."""
    found: dict[str, Image] = {}

    def change(url: str) -> str | None:
        if not url.startswith("data:"):
            return None
        try:
            image = from_data_url(url)
        except ImageRefused:
            return None  # not an image we accept: kept as it was sent
        found.setdefault(image.ref, image)
        return ref_url(image)

    return _map_urls(messages, change), list(found.values())


def refs_in(messages) -> list[str]:
    """The stored references in messages, in order, once each."""
    found: list[str] = []

    def see(url: str) -> None:
        parsed = parse_ref_url(url)
        if parsed and parsed[1] not in found:
            found.append(parsed[1])

    _map_urls(messages, see)
    return found


class ImageMissing(LookupError):
    """A stored reference whose image is gone (it was pruned, or belongs to someone else)."""


def inflate(messages, lookup) -> list:
    """Messages with each reference made a data: URL again; ``lookup(ref)`` gives the Image."""
    def change(url: str) -> str | None:
        parsed = parse_ref_url(url)
        if parsed is None:
            return None
        image = lookup(parsed[1])
        if image is None:
            raise ImageMissing(parsed[1])
        return image.data_url()

    return _map_urls(messages, change)


def abbreviate(messages) -> list:
    """Messages to show: a data: URL or a reference as ``data:image/png;base64,… (12 KB)``."""
    def change(url: str) -> str | None:
        parsed = parse_ref_url(url)
        if parsed:
            return f"data:{parsed[0]};base64,… ({human_size(parsed[2])})"
        match = DATA_URL.match(url) if url.startswith("data:") and len(url) > 200 else None
        if match:
            size = len(re.sub(r"\s+", "", match.group(2))) * 3 // 4
            return f"data:{match.group(1)};base64,… ({human_size(size)})"
        return None

    return _map_urls(messages, change)


@dataclass(frozen=True)
class ImageInfo:
    """What is known of a stored image without its bytes: for checks, captions and caps."""

    ref: str
    mime: str
    size: int
    width: int | None = None
    height: int | None = None

    @property
    def kind(self) -> str:
        return self.mime.removeprefix("image/").upper()

    @property
    def caption(self) -> str:
        pixels = f"{self.width}×{self.height} px · " if self.width and self.height else ""
        return f"{self.kind} · {pixels}{human_size(self.size)}"
