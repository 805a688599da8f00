#!/usr/bin/env python3
"""hub-emulator.py - a local Hugging Face Hub for the bn-fetch tests.

Python 3 standard library only.  Serves fixture checkpoints as model repos
with the Hub's behaviour (see docs/bn-fetch.1 and ecosystem notes):

  GET  /api/models/ORG/NAME/revision/REV    {"id", "sha", "siblings"}
  GET  /api/models/ORG/NAME/tree/REV?recursive=true   paginated, Link rel="next"
  HEAD|GET /ORG/NAME/resolve/REV/PATH
       regular file: 307, relative Location /api/resolve-cache/...
       LFS file:     302, absolute Location on the second ("CDN") port,
                     X-Linked-Etag (SHA-256), X-Linked-Size
       always X-Repo-Commit; errors carry X-Error-Code / X-Error-Message
  GET  /api/resolve-cache/models/ORG/NAME/COMMIT/PATH   file bytes, Range
  GET  (cdn) /lfs/SHA256                                file bytes, Range

Repos: bn/tiny-a (t/fixtures/models/tiny-a), bn/bitnet-demo (share/bitnet-demo),
bn/nested (files in sub-directories), bn/private (tiny-a, needs --token),
bn/gated (GatedRepo), bn/evil (tree lists '../escape.json').  Every repo has
'main' and a tag 'v1.0' (an older commit whose config.json differs).

Faults (--fault SPEC, repeatable, or GET /_ctl/fault?kind=K&key=val...;
GET /_ctl/reset clears them).  SPEC is "KIND,key=val,...":
  status  code=N [xcode=X] [msg=M] [retry_after=S] [where=api|resolve|file|any]
  drop    after=N          close the connection after N body bytes
  corrupt at=N             flip the byte at file offset N
  size                     send one byte more than the file has
  slow    chunk=N delay_ms=D   trickle the body
  norange                  ignore Range requests (answer 200)
  badmeta                  lie in X-Linked-Size / Content-Length on HEAD
  nocommit                 leave out X-Repo-Commit (a proxy in the way)
Common keys: path=GLOB (file path, or request path for where=api; default
'*'), count=N (times it fires; default unlimited).

Writes "HUBPORT CDNPORT" to --portfile, one JSON line per request to --log
(server, method, path, range, authorization), binds 127.0.0.1 only and exits
by itself after --idle seconds without requests (or --max-life seconds).
"""
import argparse
import fnmatch
import hashlib
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = 2
CHUNK = 16384
TOKEN = "hf_emulatorTestToken0123456789abcdefgh"


def git_oid(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class File:
    def __init__(self, path, data, lfs):
        self.path, self.data, self.lfs = path, data, lfs
        self.oid = git_oid(data)
        self.sha256 = hashlib.sha256(data).hexdigest()


def is_lfs(path, data):
    return path.endswith(".safetensors") or len(data) >= 1 << 20


def load_dir(d):
    out = {}
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        if os.path.isfile(p):
            with open(p, "rb") as f:
                out[name] = f.read()
    return out


class Repo:
    def __init__(self, name, files, private=False, gated=False):
        self.name, self.private, self.gated = name, private, gated
        self.commits = {}  # commit -> {path: File}
        self.refs = {}
        old = dict(files)
        if "config.json" in old:
            old["config.json"] = old["config.json"] + b"\n"
        for ref, fl in (("v1.0", old), ("main", files)):
            fs = {p: File(p, d, is_lfs(p, d)) for p, d in fl.items()}
            key = name + ref + "".join(p + f.oid for p, f in sorted(fs.items()))
            commit = hashlib.sha1(key.encode()).hexdigest()
            self.commits[commit] = fs
            self.refs[ref] = commit

    def commit_for(self, rev):
        if rev in self.refs:
            return self.refs[rev]
        if rev in self.commits:
            return rev
        return None


def build_repos(top):
    tiny = load_dir(os.path.join(top, "t/fixtures/models/tiny-a"))
    demo = load_dir(os.path.join(top, "share/bitnet-demo"))
    nested = {
        "config.json": tiny["config.json"],
        "sub/dir/info.json": b'{"note": "nested file"}\n',
        "weights/part.safetensors": bytes((i * 7 + 3) % 251 for i in range(300000)),
    }
    evil = {"config.json": b"{}\n", "../escape.json": b"{}\n"}
    repos = [Repo("bn/tiny-a", tiny), Repo("bn/bitnet-demo", demo),
             Repo("bn/nested", nested), Repo("bn/private", tiny, private=True),
             Repo("bn/gated", tiny, gated=True), Repo("bn/evil", evil)]
    return {r.name: r for r in repos}


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.faults = []
        self.log = open(args.log, "a", buffering=1) if args.log else None
        self.last = time.monotonic()
        self.repos = build_repos(args.root)
        self.cdn_port = 0
        self.token = args.token

    def add_fault(self, spec):
        if isinstance(spec, str):
            parts = spec.split(",")
            d = {"kind": parts[0]}
            for kv in parts[1:]:
                k, _, v = kv.partition("=")
                d[k] = v
        else:
            d = dict(spec)
        d.setdefault("path", "*")
        d["count"] = int(d.get("count", -1))
        with self.lock:
            self.faults.append(d)

    def take(self, kind, path, where):
        """Return the first matching fault of kind (using one shot of it)."""
        with self.lock:
            for f in self.faults:
                if f["kind"] != kind or f["count"] == 0:
                    continue
                w = f.get("where", "any")
                if w != "any" and w != where:
                    continue
                if not fnmatch.fnmatchcase(path, f["path"]):
                    continue
                if f["count"] > 0:
                    f["count"] -= 1
                return f
        return None

    def record(self, **kw):
        self.last = time.monotonic()
        if self.log:
            with self.lock:
                self.log.write(json.dumps(kw) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hub-emulator/1"
    timeout = 20

    def setup(self):
        super().setup()
        # headers and body go out in separate writes: no Nagle delay
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        pass

    # ---- helpers ----
    @property
    def st(self):
        return self.server.state

    def send(self, code, body=b"", headers=(), ctype="application/json"):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, code, xcode=None, msg="", extra=()):
        h = list(extra)
        if xcode:
            h.append(("X-Error-Code", xcode))
        if msg:
            h.append(("X-Error-Message", msg))
        self.send(code, json.dumps({"error": msg or "error"}).encode(), h)

    def status_fault(self, path, where):
        f = self.st.take("status", path, where)
        if not f:
            return False
        h = []
        if "retry_after" in f:
            h.append(("Retry-After", f["retry_after"]))
        self.error(int(f.get("code", 500)), f.get("xcode"), f.get("msg", ""), h)
        return True

    def auth_check(self, repo):
        """None if allowed, else sends the error and returns True."""
        auth = self.headers.get("Authorization")
        if repo.gated:
            self.error(403 if auth else 401, "GatedRepo",
                       "Access to model %s is restricted." % repo.name)
            return True
        if repo.private:
            if not auth:
                self.error(401, "RepoNotFound", "Repository not found")
                return True
            if auth != "Bearer " + self.st.token:
                self.error(401, None, "Invalid credentials in Authorization header")
                return True
        return False

    def find_repo(self, org, name):
        repo = self.st.repos.get(org + "/" + name)
        if not repo:
            self.error(401, "RepoNotFound", "Repository not found")
            return None
        if self.auth_check(repo):
            return None
        return repo

    # ---- file bodies with Range and faults ----
    def serve_bytes(self, f, commit, extra=()):
        data = f.data
        path = f.path
        cf = self.st.take("corrupt", path, "file") if self.command != "HEAD" else None
        if cf and data:
            at = min(int(cf.get("at", 0)), len(data) - 1)
            data = data[:at] + bytes([data[at] ^ 0x55]) + data[at + 1:]
        if self.st.take("size", path, "file") and self.command != "HEAD":
            data = data + b"!"
        start = 0
        rng = self.headers.get("Range")
        code = 200
        headers = [("ETag", '"%s"' % (f.sha256 if f.lfs else f.oid)),
                   ("Accept-Ranges", "bytes")] + list(extra)
        if commit:
            headers.append(("X-Repo-Commit", commit))
        if rng and not self.st.take("norange", path, "file"):
            try:
                unit, _, spec = rng.partition("=")
                a, _, b = spec.partition("-")
                start = int(a)
                end = int(b) if b else len(data) - 1
                assert unit == "bytes" and 0 <= start
            except (ValueError, AssertionError):
                return self.error(400, None, "bad range")
            if start >= len(data):
                return self.send(416, b"", [("Content-Range", "bytes */%d" % len(data))])
            end = min(end, len(data) - 1)
            headers.append(("Content-Range", "bytes %d-%d/%d" % (start, end, len(data))))
            data = data[start:end + 1]
            code = 206
        drop = self.st.take("drop", path, "file") if self.command != "HEAD" else None
        slow = self.st.take("slow", path, "file") if self.command != "HEAD" else None
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        limit = int(drop.get("after", 0)) if drop else len(data)
        chunk = int(slow.get("chunk", 4096)) if slow else CHUNK
        delay = int(slow.get("delay_ms", 2)) / 1000.0 if slow else 0
        off = 0
        while off < min(limit, len(data)):
            n = min(chunk, limit - off)
            self.wfile.write(data[off:off + n])
            off += n
            if delay:
                self.wfile.flush()
                time.sleep(delay)
        if drop:
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # ---- routes ----
    def route(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        parts = u.path.split("/")  # raw (still percent-encoded) segments
        self.st.record(server=self.server.name, method=self.command, path=self.path,
                       range=self.headers.get("Range"),
                       authorization=self.headers.get("Authorization"))
        if self.server.name == "cdn":
            if len(parts) == 3 and parts[1] == "lfs":
                for repo in self.st.repos.values():
                    for files in repo.commits.values():
                        for f in files.values():
                            if f.sha256 == parts[2]:
                                if self.status_fault(f.path, "file"):
                                    return
                                return self.serve_bytes(f, None)
            return self.error(404, None, "no such object")
        if u.path.startswith("/_ctl/"):
            if u.path == "/_ctl/reset":
                with self.st.lock:
                    self.st.faults.clear()
            elif u.path == "/_ctl/fault":
                self.st.add_fault({k: v[0] for k, v in q.items()})
            return self.send(200, b"{}")
        if u.path.startswith("/api/") and self.status_fault(u.path, "api"):
            return
        # /api/models/ORG/NAME/revision/REV
        if len(parts) >= 7 and parts[1:3] == ["api", "models"] and parts[5] == "revision":
            repo = self.find_repo(parts[3], parts[4])
            if not repo:
                return
            rev = urllib.parse.unquote("/".join(parts[6:]))
            commit = repo.commit_for(rev)
            if not commit:
                return self.error(404, "RevisionNotFound", "Invalid rev id: " + rev)
            body = {"id": repo.name, "modelId": repo.name, "sha": commit,
                    "siblings": [{"rfilename": p} for p in sorted(repo.commits[commit])]}
            return self.send(200, json.dumps(body).encode())
        # /api/models/ORG/NAME/tree/REV[/PATH]
        if len(parts) >= 7 and parts[1:3] == ["api", "models"] and parts[5] == "tree":
            repo = self.find_repo(parts[3], parts[4])
            if not repo:
                return
            commit = repo.commit_for(urllib.parse.unquote(parts[6]))
            if not commit:
                return self.error(404, "RevisionNotFound", "Invalid rev id")
            items, dirs = [], set()
            for p, f in sorted(repo.commits[commit].items()):
                d = p.rpartition("/")[0]
                while d and d not in dirs and not d.startswith(".."):
                    dirs.add(d)
                    items.append({"type": "directory", "oid": "0" * 40, "size": 0, "path": d})
                    d = d.rpartition("/")[0]
                it = {"type": "file", "oid": f.oid, "size": len(f.data), "path": p}
                if f.lfs:
                    it["lfs"] = {"oid": f.sha256, "size": len(f.data), "pointerSize": 134}
                items.append(it)
            cur = int(q.get("cursor", ["0"])[0])
            page = items[cur:cur + PAGE]
            h = []
            if cur + PAGE < len(items):
                nxt = "http://127.0.0.1:%d%s?recursive=true&cursor=%d" % (
                    self.server.server_address[1], u.path, cur + PAGE)
                h.append(("Link", '<%s>; rel="next"' % nxt))
            return self.send(200, json.dumps(page).encode(), h)
        # /api/resolve-cache/models/ORG/NAME/COMMIT/PATH
        if len(parts) >= 8 and parts[1:4] == ["api", "resolve-cache", "models"]:
            repo = self.find_repo(parts[4], parts[5])
            if not repo:
                return
            files = repo.commits.get(parts[6])
            path = urllib.parse.unquote("/".join(parts[7:]))
            if files is None or path not in files:
                return self.error(404, "EntryNotFound", "Entry not found")
            if self.status_fault(path, "file"):
                return
            return self.serve_bytes(files[path], parts[6])
        # /ORG/NAME/resolve/REV/PATH
        if len(parts) >= 6 and parts[3] == "resolve":
            repo = self.find_repo(parts[1], parts[2])
            if not repo:
                return
            commit = repo.commit_for(urllib.parse.unquote(parts[4]))
            if not commit:
                return self.error(404, "RevisionNotFound", "Invalid rev id")
            path = urllib.parse.unquote("/".join(parts[5:]))
            if self.status_fault(path, "resolve"):
                return
            f = repo.commits[commit].get(path)
            if not f:
                return self.error(404, "EntryNotFound", "Entry not found",
                                  [("X-Repo-Commit", commit)])
            h = [] if self.st.take("nocommit", path, "resolve") else [("X-Repo-Commit", commit)]
            lie = 1 if self.command == "HEAD" and self.st.take("badmeta", path, "resolve") else 0
            if f.lfs:
                loc = "http://127.0.0.1:%d/lfs/%s?X-Amz-Signature=emulated" % (
                    self.st.cdn_port, f.sha256)
                h += [("Location", loc), ("ETag", '"%s"' % f.oid),
                      ("X-Linked-Etag", '"%s"' % f.sha256),
                      ("X-Linked-Size", str(len(f.data) + lie))]
                return self.send(302, b"Found. Redirecting", h, "text/plain")
            loc = "/api/resolve-cache/models/%s/%s/%s?etag=%s" % (
                repo.name, commit, urllib.parse.quote(path), f.oid)
            h += [("Location", loc), ("ETag", 'W/"%s"' % f.oid)]
            if lie:
                h.append(("X-Linked-Size", str(len(f.data) + lie)))
            return self.send(307, b"Temporary Redirect", h, "text/plain")
        return self.error(404, None, "not found")

    def do_GET(self):
        self.route()

    def do_HEAD(self):
        self.route()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, name, state):
        super().__init__(("127.0.0.1", 0), Handler)
        self.name, self.state = name, state


def main():
    ap = argparse.ArgumentParser(description="local Hugging Face Hub emulator")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--root", default=os.path.dirname(here))
    ap.add_argument("--portfile", required=True)
    ap.add_argument("--log")
    ap.add_argument("--fault", action="append", default=[])
    ap.add_argument("--token", default=TOKEN)
    ap.add_argument("--idle", type=float, default=60)
    ap.add_argument("--max-life", type=float, default=900)
    args = ap.parse_args()
    state = State(args)
    for spec in args.fault:
        state.add_fault(spec)
    hub, cdn = Server("hub", state), Server("cdn", state)
    state.cdn_port = cdn.server_address[1]
    for s in (hub, cdn):
        threading.Thread(target=s.serve_forever, daemon=True).start()
    tmp = args.portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (hub.server_address[1], cdn.server_address[1]))
    os.rename(tmp, args.portfile)
    born = time.monotonic()
    while True:
        time.sleep(0.2)
        t = time.monotonic()
        if t - state.last > args.idle or t - born > args.max_life:
            os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
