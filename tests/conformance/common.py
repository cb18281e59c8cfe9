"""tests/conformance/common.py - shared by the conformance runners.

Runs bin/kensho as any caller would (a config file, a certificate or a
signature, --at) and reads back its JSON verdict.  Standard library only.
Every run is bounded in time.
"""
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

# The shared test suites sit beside the repository (../shared), as in CI.
SHARED = os.environ.get("SHARED") or os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared"))

KENSHO = os.environ.get("KENSHO", os.path.join(os.path.dirname(__file__), "..", "..", "bin", "kensho"))
JOBS = int(os.environ.get("KS_JOBS", "2"))
TIMEOUT_S = 30

# Algorithm policy for the old public vectors (2011 PKITS, RFC 4134): the
# gateway's own defaults would rightly refuse RSA-1024, DSA-1024 and SHA-1.
OLD_ALGORITHMS = {"min_rsa_bits": 1024, "min_dsa_bits": 1024, "allow_sha1": True}


class Outcome:
    """What bin/kensho said: exit status, indication, subindication, detail."""

    def __init__(self, rc, verdict, stderr):
        self.rc = rc
        self.verdict = verdict if isinstance(verdict, dict) else {}
        self.stderr = stderr
        v = self.verdict
        self.indication = v.get("indication")
        self.sub = v.get("subindication")
        self.detail = v.get("detail")
        err = v.get("error") if isinstance(v.get("error"), dict) else {}
        self.error_code = err.get("code")
        if self.error_code and not self.detail:
            self.detail = err.get("detail") or err.get("message")
        if not self.verdict and stderr:  # no JSON at all: a crash or a sanitizer report
            lines = [l for l in stderr.splitlines() if "ERROR" in l or "runtime error" in l] or stderr.splitlines()
            self.detail = "no verdict; stderr: " + lines[0].strip()

    @property
    def passed(self):
        return self.rc == 0 and self.indication == "TOTAL_PASSED"

    def describe(self):
        if self.error_code:
            return "exit %d %s" % (self.rc, self.error_code)
        return "exit %d %s/%s" % (self.rc, self.indication, self.sub)


def run_kensho(args, config):
    """bin/kensho ARGS --config CONFIG; never raises on a bad verdict."""
    cmd = [KENSHO] + args[:1] + ["--config", config] + args[1:]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return Outcome(-1, {"error": {"code": "TIMEOUT", "detail": "no answer in %d s" % TIMEOUT_S}}, "")
    try:
        verdict = json.loads(p.stdout.decode("utf-8", "replace") or "null")
    except ValueError:
        verdict = {"error": {"code": "NOT_JSON", "detail": p.stdout[:200].decode("utf-8", "replace")}}
    return Outcome(p.returncode, verdict, p.stderr.decode("utf-8", "replace"))


def write_config(path, cfg):
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)


def parallel(fn, items):
    """fn over items on KS_JOBS workers (default 2), results in input order."""
    with ThreadPoolExecutor(max_workers=max(1, JOBS)) as ex:
        return list(ex.map(fn, items))


def one_line(s, n=160):
    s = " ".join(str(s or "").split())
    return s if len(s) <= n else s[: n - 3] + "..."
