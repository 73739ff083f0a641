"""Images over HTTP: the script's upload, a visitor's own images, a share page's images.

An image is served from this site only (the CSP's ``img-src 'self'``), with the type its bytes
were sniffed as, ``nosniff`` and ``inline``, to its owner, or through the share token of a run
that sent it; any other request for it is a 404, exactly like an image that never existed.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, request, url_for

from playground.images import MAX_IMAGE_BYTES, ImageRefused, accept
from playground.owners import current_owner
from playground.store import current_store

bp = Blueprint("gallery", __name__)
MAX_FILES = 8  # one post of the script's upload: what one run may carry
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}


def _serve(image, ref: str) -> Response:
    extension = EXTENSIONS.get(image.mime, "bin")
    return Response(image.data, mimetype=image.mime, headers={
        "Content-Disposition": f'inline; filename="image-{ref[:12]}.{extension}"',
        "Cache-Control": "private, max-age=86400, immutable",  # the address is the content
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cross-Origin-Resource-Policy": "same-origin"})


@bp.get("/images/<ref>")
def image(ref: str):
    """One of this visitor's images."""
    found = current_store().images.get(current_owner(), ref)
    if found is None:
        abort(404)
    return _serve(found, ref)


@bp.get("/s/<token>/images/<ref>")
def shared_image(token: str, ref: str):
    """An image of the run this share link opens, and only of that run."""
    found = current_store().images.shared(token, ref)
    if found is None:
        abort(404)
    return _serve(found, ref)


@bp.post("/images")
def upload():
    """Keep the files the script sends as soon as they are picked; answer what each became.

    The answer lists each kept image (its reference, caption and address) and a message for
    each file refused, judged by its bytes like a file posted with the form.
    """
    kept, problems = [], []
    owner = current_owner()
    for storage in request.files.getlist("file")[:MAX_FILES]:
        name = (storage.filename or "the file")[:80]
        try:
            found = accept(storage.stream.read(MAX_IMAGE_BYTES + 1), f'"{name}"')
        except ImageRefused as exc:
            problems.append(str(exc))
            continue
        info = current_store().images.put(owner, found)
        kept.append({"ref": info.ref, "caption": info.caption, "size": info.size,
                     "width": info.width, "height": info.height,
                     "src": url_for("gallery.image", ref=info.ref)})
    if len(request.files.getlist("file")) > MAX_FILES:
        problems.append(f"At most {MAX_FILES} images at once; the others were not kept.")
    return jsonify(images=kept, errors=problems), 200, {"Cache-Control": "no-store"}
