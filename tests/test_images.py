"""Unit: an image is judged by its bytes, sized from its header, and bounded."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest

from playground import images
from playground.images import ImageRefused


def png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


GIF = b"GIF89a" + struct.pack("<HH", 5, 4) + b"\x00" * 20
JPEG = (b"\xff\xd8\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9
        + b"\xff\xc0" + struct.pack(">HBHH", 17, 8, 7, 9) + b"\x00" * 12)
WEBP_LOSSLESS = (b"RIFF" + struct.pack("<I", 30) + b"WEBPVP8L" + struct.pack("<I", 10)
                 + b"\x2f" + ((10 - 1) | ((6 - 1) << 14)).to_bytes(4, "little") + b"\x00" * 8)


@pytest.mark.parametrize(("data", "mime", "size"), [
    (png(3, 2), "image/png", (3, 2)),
    (GIF, "image/gif", (5, 4)),
    (JPEG, "image/jpeg", (9, 7)),
    (WEBP_LOSSLESS, "image/webp", (10, 6)),
], ids=["png", "gif", "jpeg", "webp"])
def test_the_bytes_decide_the_type_and_the_header_the_size(data, mime, size):
    image = images.accept(data)
    assert (image.mime, (image.width, image.height)) == (mime, size)
    assert image.data_url().startswith(f"data:{mime};base64,")
    assert len(image.ref) == 64


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "not a PNG"),
    (b"%PDF-1.7 pretending to be cat.png", "not a PNG"),
    (b"GIF88a" + b"\x00" * 10, "not a PNG"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * (images.MAX_IMAGE_BYTES), "at most 5 MB"),
], ids=["empty", "svg", "pdf", "bad-gif", "too-big"])
def test_anything_else_is_refused_with_a_reason(data, reason):
    with pytest.raises(ImageRefused, match=reason):
        images.accept(data)


def test_a_truncated_header_gives_no_size_rather_than_a_guess():
    image = images.accept(b"\xff\xd8\xff\xe0\x00")
    assert image.mime == "image/jpeg" and image.width is None and image.height is None


def test_data_urls_are_checked_like_uploads():
    encoded = base64.b64encode(png()).decode()
    assert images.from_data_url(f"data:image/png;base64,{encoded}").mime == "image/png"
    # the declared type is not trusted: a GIF declared as PNG is a GIF
    gif = base64.b64encode(GIF).decode()
    assert images.from_data_url(f"data:image/png;base64,{gif}").mime == "image/gif"
    for bad in ("data:text/html;base64,PHNjcmlwdD4=", "data:image/png;base64,!!!",
                "data:image/png,rawbytes"):
        with pytest.raises(ImageRefused):
            images.from_data_url(bad)


@pytest.mark.parametrize(("url", "ok"), [
    ("https://example.com/cat.png", True),
    ("  https://example.com/cat.png  ", True),
    ("http://example.com/cat.png", False),
    ("javascript:alert(1)", False),
    ("https://example.com/a b.png", False),
    ("https://" + "a" * 2000, False),
    ("file:///etc/passwd", False),
], ids=["https", "spaces", "http", "javascript", "space-inside", "too-long", "file"])
def test_remote_urls_are_https_only(url, ok):
    if ok:
        assert images.check_url(url) == url.strip()
    else:
        with pytest.raises(ImageRefused):
            images.check_url(url)


def test_run_totals():
    images.check_totals([images.MAX_IMAGE_BYTES] * 4)
    with pytest.raises(ImageRefused, match="at most 8 images"):
        images.check_totals([1] * 9)
    with pytest.raises(ImageRefused, match="at most 20 MB"):
        images.check_totals([images.MAX_IMAGE_BYTES] * 4 + [1])
