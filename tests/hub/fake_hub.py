#!/usr/bin/python3
"""A stand-in for the Hugging Face Hub and for Python's view of its cache, for tests/hub.

Standard library only (run with /usr/bin/python3). Three modes:

  fake_hub.py serve ROOT [PARENT_PID]
      Serves the repos under ROOT/repos on 127.0.0.1 (a free port, written to ROOT/port once
      listening) the way the Hub answers /{repo}/resolve/{revision}/{file}:
        ROOT/repos/<org>/<name>/commits/<commit>/<files>   the files of each commit
        ROOT/repos/<org>/<name>/refs/<branch or tag>       a commit hash
        ROOT/repos/<org>/<name>/gated                      the token that opens a gated repo
        ROOT/cut/<sha256>                                  how many more transfers of that LFS
                                                           blob to cut halfway
      Weight files (.safetensors, .bin, .h5) are LFS files: HEAD on resolve answers 302 to an
      absolute CDN URL on another host name (localhost instead of 127.0.0.1) with X-Repo-Commit,
      X-Linked-Etag (their SHA-256) and X-Linked-Size. Other files redirect (307, relative) to
      /api/resolve-cache/..., which answers with X-Repo-Commit and the git blob SHA-1 as ETag.
      Errors carry X-Error-Code: RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo (401
      without a token, 403 with a wrong one). The CDN honours "Range: bytes=N-" (206).
      Every request is appended to ROOT/requests.log as one JSON object per line. The server
      exits when PARENT_PID (default: its parent) is gone.

  fake_hub.py python-cache CACHE REPO_ID COMMIT SRC_DIR [--ref NAME]... [--absent FILE]...
      Lays SRC_DIR's files into CACHE as huggingface_hub leaves them after a download: blobs named
      by ETag, snapshot symlinks made with os.path.relpath, refs holding the bare commit hash,
      .no_exist markers.

  fake_hub.py python-lookup CACHE REPO_ID REVISION FILE...
      Looks files up as huggingface_hub's try_to_load_from_cache does (refs -> commit ->
      .no_exist or snapshots/<commit>/<file>) and checks the repo folder as its cache scan does
      (every snapshot file resolves to an existing blob inside blobs/, every ref names a snapshot).
      Prints {"files": {file: path | "absent" | null}, "problems": [...]} as JSON.
"""

import hashlib
import http.server
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.parse

LFS_SUFFIXES = (".safetensors", ".bin", ".h5")
COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")


def is_lfs(name):
    return name.endswith(LFS_SUFFIXES)


def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def etag_of(name, data):
    return hashlib.sha256(data).hexdigest() if is_lfs(name) else git_blob_sha1(data)


def inside(base, path):
    base = os.path.realpath(base)
    return os.path.realpath(path).startswith(base + os.sep)


# ---- the server --------------------------------------------------------------------------------

class Hub:
    def __init__(self, root):
        self.root = root
        self.lock = threading.Lock()
        self.blobs = {}

    def repo_dir(self, repo_id):
        path = os.path.join(self.root, "repos", repo_id)
        return path if inside(os.path.join(self.root, "repos"), path) and os.path.isdir(path) else None

    def commit_for(self, repo_dir, revision):
        if COMMIT_RE.match(revision) and os.path.isdir(os.path.join(repo_dir, "commits", revision)):
            return revision
        ref = os.path.join(repo_dir, "refs", revision)
        if inside(os.path.join(repo_dir, "refs"), ref) and os.path.isfile(ref):
            with open(ref) as f:
                return f.read().strip()
        return None

    def blob_path(self, sha256):
        with self.lock:
            if sha256 not in self.blobs:
                for dirpath, _, files in os.walk(os.path.join(self.root, "repos")):
                    for name in files:
                        if is_lfs(name):
                            path = os.path.join(dirpath, name)
                            with open(path, "rb") as f:
                                self.blobs[hashlib.sha256(f.read()).hexdigest()] = path
            return self.blobs.get(sha256)

    def take_cut(self, sha256):
        path = os.path.join(self.root, "cut", sha256)
        with self.lock:
            if not os.path.isfile(path):
                return False
            with open(path) as f:
                left = int(f.read().strip() or "0")
            if left <= 0:
                return False
            with open(path, "w") as f:
                f.write(str(left - 1))
            return True

    def record(self, entry):
        with self.lock:
            with open(os.path.join(self.root, "requests.log"), "a") as f:
                f.write(json.dumps(entry) + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub = None

    def log_message(self, format, *args):
        pass

    def do_HEAD(self):
        self.route(head=True)

    def do_GET(self):
        self.route(head=False)

    def route(self, head):
        url = urllib.parse.urlsplit(self.path)
        self.hub.record({"method": self.command, "path": url.path, "host": self.headers.get("Host", ""),
                         "range": self.headers.get("Range"), "auth": self.headers.get("Authorization")})
        path = url.path
        if path.startswith("/cdn/"):
            return self.cdn(path[len("/cdn/"):], head)
        if path.startswith("/api/resolve-cache/models/"):
            return self.resolve_cache(path[len("/api/resolve-cache/models/"):], head)
        if "/resolve/" in path:
            return self.resolve(path, head)
        self.answer(404, {}, b"not found", head)

    def answer(self, status, headers, body, head):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def error(self, status, code, message, head, commit=None):
        headers = {"X-Error-Code": code, "X-Error-Message": message, "Content-Type": "application/json"}
        if commit:
            headers["X-Repo-Commit"] = commit
        self.answer(status, headers, json.dumps({"error": message}).encode(), head)

    def resolve(self, path, head):
        repo_id, rest = path[1:].split("/resolve/", 1)
        revision, _, filename = rest.partition("/")
        revision = urllib.parse.unquote(revision)
        filename = urllib.parse.unquote(filename)
        repo_dir = self.hub.repo_dir(repo_id)
        if repo_dir is None:
            return self.error(404, "RepoNotFound", "Repository not found", head)
        gated = os.path.join(repo_dir, "gated")
        if os.path.isfile(gated):
            with open(gated) as f:
                token = f.read().strip()
            auth = self.headers.get("Authorization")
            if auth is None:
                return self.error(401, "GatedRepo", "Access to model %s is restricted. You must have access to it "
                                  "and be authenticated to access it. Please log in." % repo_id, head)
            if auth != "Bearer " + token:
                return self.error(403, "GatedRepo", "Access to model %s is restricted and you are not in the "
                                  "authorized list." % repo_id, head)
        commit = self.hub.commit_for(repo_dir, revision)
        if commit is None:
            return self.error(404, "RevisionNotFound", "Invalid rev id: " + revision, head)
        commit_dir = os.path.join(repo_dir, "commits", commit)
        file_path = os.path.join(commit_dir, filename)
        if not inside(commit_dir, file_path) or not os.path.isfile(file_path):
            return self.error(404, "EntryNotFound", "Entry not found", head, commit)
        with open(file_path, "rb") as f:
            data = f.read()
        if is_lfs(filename):
            sha = hashlib.sha256(data).hexdigest()
            port = self.server.server_address[1]
            pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (sha, len(data))
            return self.answer(302, {"Location": "http://localhost:%d/cdn/%s" % (port, sha), "X-Repo-Commit": commit,
                                     "X-Linked-Etag": '"%s"' % sha, "X-Linked-Size": str(len(data)),
                                     "ETag": '"%s"' % git_blob_sha1(pointer.encode())}, b"", head)
        location = "/api/resolve-cache/models/%s/%s/%s" % (repo_id, commit, urllib.parse.quote(filename))
        self.answer(307, {"Location": location, "X-Repo-Commit": commit}, b"", head)

    def resolve_cache(self, rest, head):
        parts = rest.split("/")
        repo_id, commit, filename = "/".join(parts[:2]), parts[2], urllib.parse.unquote("/".join(parts[3:]))
        repo_dir = self.hub.repo_dir(repo_id)
        commit_dir = os.path.join(repo_dir or "", "commits", commit)
        file_path = os.path.join(commit_dir, filename)
        if repo_dir is None or not inside(commit_dir, file_path) or not os.path.isfile(file_path):
            return self.error(404, "EntryNotFound", "Entry not found", head)
        with open(file_path, "rb") as f:
            data = f.read()
        self.answer(200, {"X-Repo-Commit": commit, "ETag": '"%s"' % git_blob_sha1(data)}, data, head)

    def cdn(self, sha, head):
        path = self.hub.blob_path(sha)
        if path is None:
            return self.answer(404, {}, b"no such blob", head)
        with open(path, "rb") as f:
            data = f.read()
        start = 0
        status, headers = 200, {"Accept-Ranges": "bytes"}
        ranged = self.headers.get("Range")
        if ranged:
            m = re.match(r"^bytes=(\d+)-$", ranged)
            start = int(m.group(1)) if m else 0
            if start >= len(data):
                return self.answer(416, {"Content-Range": "bytes */%d" % len(data)}, b"", head)
            status = 206
            headers["Content-Range"] = "bytes %d-%d/%d" % (start, len(data) - 1, len(data))
        body = data[start:]
        if head or not self.hub.take_cut(sha):
            return self.answer(status, headers, body, head)
        # Announce the whole body, send half of it, and drop the connection.
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:max(1, len(body) // 2)])
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)


def exit_with(parent):
    # A test that crashes cannot stop its server: leave with it instead of serving forever.
    while True:
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(0)
        time.sleep(0.5)


def serve(root, parent):
    threading.Thread(target=exit_with, args=(parent,), daemon=True).start()
    Handler.hub = Hub(root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_file = os.path.join(root, "port")
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


# ---- Python's side of the cache ----------------------------------------------------------------

def repo_folder(cache, repo_id):
    return os.path.join(cache, "models--" + repo_id.replace("/", "--"))


def python_cache(cache, repo_id, commit, src, refs, absent):
    storage = repo_folder(cache, repo_id)
    for dirpath, _, files in os.walk(src):
        for name in files:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, src).replace(os.sep, "/")
            with open(path, "rb") as f:
                data = f.read()
            blob = os.path.join(storage, "blobs", etag_of(rel, data))
            os.makedirs(os.path.dirname(blob), exist_ok=True)
            with open(blob, "wb") as f:
                f.write(data)
            pointer = os.path.join(storage, "snapshots", commit, *rel.split("/"))
            os.makedirs(os.path.dirname(pointer), exist_ok=True)
            os.symlink(os.path.relpath(blob, os.path.dirname(pointer)), pointer)
    for ref in refs:
        ref_path = os.path.join(storage, "refs", ref)
        os.makedirs(os.path.dirname(ref_path), exist_ok=True)
        with open(ref_path, "w") as f:
            f.write(commit)
    for name in absent:
        marker = os.path.join(storage, ".no_exist", commit, name)
        os.makedirs(os.path.dirname(marker), exist_ok=True)
        open(marker, "w").close()


def python_lookup(cache, repo_id, revision, names):
    storage = repo_folder(cache, repo_id)
    result = {"files": {}, "problems": []}
    commit = revision
    ref = os.path.join(storage, "refs", revision)
    if os.path.isfile(ref):
        with open(ref) as f:
            commit = f.read()
    for name in names:
        if os.path.isfile(os.path.join(storage, ".no_exist", commit, name)):
            result["files"][name] = "absent"
            continue
        path = os.path.join(storage, "snapshots", commit, name)
        result["files"][name] = path if os.path.isfile(path) else None
    blobs = os.path.realpath(os.path.join(storage, "blobs"))
    snapshots = os.path.join(storage, "snapshots")
    for dirpath, _, files in os.walk(snapshots):
        for name in files:
            path = os.path.join(dirpath, name)
            target = os.path.realpath(path)
            if not os.path.exists(target):
                result["problems"].append("broken symlink " + path)
            elif os.path.dirname(target) != blobs:
                result["problems"].append("not a blob: %s -> %s" % (path, target))
            elif os.path.isabs(os.readlink(path)):
                result["problems"].append("absolute symlink " + path)
    refs_dir = os.path.join(storage, "refs")
    for dirpath, _, files in os.walk(refs_dir):
        for name in files:
            with open(os.path.join(dirpath, name)) as f:
                target = f.read()
            if not os.path.isdir(os.path.join(snapshots, target)):
                result["problems"].append("ref %s names a missing snapshot %s" % (name, target))
    json.dump(result, sys.stdout)


def main(argv):
    if len(argv) >= 2 and argv[0] == "serve":
        return serve(argv[1], int(argv[2]) if len(argv) > 2 else os.getppid())
    if len(argv) >= 5 and argv[0] == "python-cache":
        refs, absent, rest = [], [], argv[5:]
        for flag, value in zip(rest[0::2], rest[1::2]):
            (refs if flag == "--ref" else absent).append(value)
        return python_cache(argv[1], argv[2], argv[3], argv[4], refs, absent)
    if len(argv) >= 4 and argv[0] == "python-lookup":
        return python_lookup(argv[1], argv[2], argv[3], argv[4:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]) or 0)
