"""Replays requests through pywb in a process of its own (pywb's app calls gevent's
``patch_all`` on import, which must not reach the test process).

    python -m tests.pywb_replay COLLECTIONS_DIR REPLIES_JSON < paths.json

Reads a JSON list of replay paths (``/coll/<ts>id_/<url>``) and writes, for each, the status,
the headers and the body (base64) to REPLIES_JSON (pywb prints to stdout itself)."""

from __future__ import annotations

import base64
import json
import os
import sys


def main() -> None:
    out = os.path.abspath(sys.argv[2])
    os.chdir(sys.argv[1])
    from pywb.apps.frontendapp import FrontEndApp
    from werkzeug.test import Client

    client = Client(FrontEndApp())
    replies = []
    for path in json.load(sys.stdin):
        reply = client.get(path)
        replies.append(
            {
                "status": reply.status_code,
                "headers": dict(reply.headers),
                "body": base64.b64encode(reply.data).decode(),
            }
        )
    with open(out, "w") as fh:
        json.dump(replies, fh)


if __name__ == "__main__":
    main()
