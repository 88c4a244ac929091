"""validations/banner.rb and mime.rb: the banner image, and the file types Zendesk refuses."""

from __future__ import annotations

import posixpath
import struct

from app.packaging.messages import message
from app.packaging.package import Package

UNSUPPORTED_MIME_TYPES = frozenset("vnd.rar rar zip gzip pdf doc docx avi bin bz bz2 csh sh jar mp3 mpeg odt pptx "
                                   "ppt xls xlsx 7z".split())
# Marcel sniffs content with Tika's whole magic database; these are the blocked types it would name.
MAGIC_SUBTYPES = ((b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"), (b"\x1f\x8b", "gzip"), (b"%PDF-", "pdf"),
                  (b"ID3", "mpeg"))
BANNER_SIZES = ((830, 200), (1660, 400))


def banner_errors(pkg: Package) -> list[str]:
    """validations/banner.rb."""
    data = pkg.read("assets/banner.png", 24)
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return [message("banner.invalid_format")]
    if struct.unpack(">II", data[16:24]) not in BANNER_SIZES:
        return [message("banner.invalid_size", required_banner_width=830, required_banner_height=200)]
    return []


def mime_errors(pkg: Package) -> list[str]:
    """validations/mime.rb: blocked by extension, or by what the content sniffs as."""
    blocked = []
    for path in pkg.files:
        if not (pkg.root / path).is_file():
            continue  # a link to a directory, or a broken one: symlink_in_zip already names it
        extension = posixpath.splitext(posixpath.basename(path))[1].lstrip(".")
        head = pkg.read(path, 8)
        sniffed = next((subtype for magic, subtype in MAGIC_SUBTYPES if head.startswith(magic)), None)
        if extension in UNSUPPORTED_MIME_TYPES or sniffed in UNSUPPORTED_MIME_TYPES:
            blocked.append(path)
    return [message("unsupported_mime_type_detected", count=len(blocked), file_names=", ".join(blocked))] \
        if blocked else []
