#!/usr/bin/env python3
"""tests/api/validate.py OPENAPI DIR - validates every HTTP answer saved in DIR
against the OpenAPI document, with Debian's python3-jsonschema (draft 2020-12,
the dialect of OpenAPI 3.1): no validator of our own.

DIR holds, per request NAME: NAME.req ("METHOD URL", as curl -w '%{method} %{url_effective}' says), NAME.code (status),
NAME.hdr (headers), NAME.body.  Each answer must be documented: its path and
method, its status (or "default") and its media type; a JSON body must then
validate against that response's schema.  Prints one "ok"/"FAIL" line per
answer and exits 1 when any failed."""
import json
import os
import sys
import urllib.parse

import jsonschema
from jsonschema import Draft202012Validator


def main():
    doc = json.load(open(sys.argv[1]))
    d = sys.argv[2]
    resolver = jsonschema.RefResolver(base_uri="", referrer=doc)
    for name, schema in doc["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
    failed = 0
    checked = 0
    names = sorted(f[:-4] for f in os.listdir(d) if f.endswith(".req"))
    for n in names:
        method, url = open(os.path.join(d, n + ".req")).read().split()[:2]
        path = urllib.parse.urlsplit(url).path
        status = open(os.path.join(d, n + ".code")).read().strip()
        ctype = ""
        for line in open(os.path.join(d, n + ".hdr"), errors="replace"):
            if line.lower().startswith("content-type:"):
                ctype = line.split(":", 1)[1].split(";")[0].strip().lower()
        why = None
        if path not in doc["paths"] and not path.startswith("/api/"):
            print("skip %s (%s %s): the page (www/, nginx), not the API" % (n, method, path))
            continue
        op = doc["paths"].get(path, {}).get(method.lower())
        if op is None and status in ("404", "405"):
            # a path or method the document does not list: its answer is
            # x-kensho-unrouted (a problem), as the document says
            op = {"responses": {status: doc["x-kensho-unrouted"]}}
        if op is None:
            why = "route not documented"
        else:
            resp = op["responses"].get(status) or op["responses"].get("default")
            if resp is None:
                why = "status %s not documented" % status
            else:
                if "$ref" in resp:
                    resp = doc["components"]["responses"][resp["$ref"].rsplit("/", 1)[1]]
                media = resp.get("content", {}).get(ctype)
                if media is None:
                    why = "media type %r not documented for %s" % (ctype, status)
                elif "x-kensho-payload" in media:
                    # a compact JWS: its payload against the payload schema
                    # (the signature is verify-verdict's to check)
                    try:
                        import base64
                        part = open(os.path.join(d, n + ".body")).read().strip().split(".")[1]
                        body = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
                        Draft202012Validator(media["x-kensho-payload"], resolver=resolver).validate(body)
                    except (ValueError, IndexError, jsonschema.ValidationError) as e:
                        why = "JWS payload schema: %s" % str(e).splitlines()[0]
                elif ctype.endswith("json"):
                    try:
                        body = json.load(open(os.path.join(d, n + ".body"), "rb"))
                        Draft202012Validator(media["schema"], resolver=resolver).validate(body)
                    except (ValueError, jsonschema.ValidationError) as e:
                        why = "schema: %s" % str(e).splitlines()[0]
        checked += 1
        if why:
            failed += 1
            print("FAIL %s (%s %s -> %s %s): %s" % (n, method, path, status, ctype, why))
        else:
            print("ok %s (%s %s -> %s %s)" % (n, method, path, status, ctype))
    print("validated %d answers, %d failed" % (checked, failed))
    return 1 if failed or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
