"""Fixtures for the data tests: tiny CIFAR-10 trees in the official format and a local HTTP server.

Helpers reach the tests through the ``cifar_tools`` fixture rather than
``import conftest``, which would depend on pytest's import mode.
"""
from __future__ import annotations

import functools
import hashlib
import http.server
import os
import pickle
import tarfile
import threading
from types import SimpleNamespace

import numpy as np
import pytest

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]


def make_rows(n: int, seed: int) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), [int(v) for v in rng.integers(0, 10, n)]


def dump(path: str, obj, protocol: int = 2) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=protocol)


def write_cifar(root, rows_per_batch: int = 20, test_rows: int = 12) -> dict:
    """Write root/cifar-10-batches-py like the official archive; returns the rows written.

    The batch files use pickle protocol 2 (Python-2 style), rewritten to name
    numpy.core.multiarray as files from NumPy 1.x do; data_batch_5 and the
    test batch use protocols 5 and 4.
    """
    folder = os.path.join(root, "cifar-10-batches-py")
    os.makedirs(folder, exist_ok=True)
    written = {}
    for i, name in enumerate(TRAIN_FILES + ["test_batch"]):
        n = test_rows if name == "test_batch" else rows_per_batch
        data, labels = make_rows(n, seed=i)
        obj = {b"batch_label": name.encode(), b"labels": labels, b"data": data,
               b"filenames": [f"{j}.png".encode() for j in range(n)]}
        if name in ("test_batch", "data_batch_5"):  # as Python 3 writes them (4: default, 5: buffers)
            dump(os.path.join(folder, name), obj, protocol=4 if name == "test_batch" else 5)
        else:
            raw = pickle.dumps(obj, protocol=2).replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
            with open(os.path.join(folder, name), "wb") as f:
                f.write(raw)
        written[name] = (data, labels)
    dump(os.path.join(folder, "batches.meta"), {
        b"num_cases_per_batch": rows_per_batch, b"label_names": [c.encode() for c in CLASSES],
        b"num_vis": 3072})
    return written


@pytest.fixture
def cifar_tools():
    return SimpleNamespace(CLASSES=CLASSES, TRAIN_FILES=TRAIN_FILES, make_rows=make_rows, dump=dump,
                           write_cifar=write_cifar, make_archive=make_archive)


@pytest.fixture
def cifar_root(tmp_path):
    root = tmp_path / "data"
    written = write_cifar(str(root))
    return root, written


def make_archive(src_root, dest: str, skip: tuple[str, ...] = ()) -> str:
    """tar.gz of src_root/cifar-10-batches-py; returns its MD5."""
    folder = os.path.join(src_root, "cifar-10-batches-py")
    with tarfile.open(dest, "w:gz") as tar:
        for name in sorted(os.listdir(folder)):
            if name not in skip:
                tar.add(os.path.join(folder, name), arcname=f"cifar-10-batches-py/{name}")
    with open(dest, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a directory; ``/cut/NAME`` announces NAME's full length but sends half and hangs up."""

    requests: list[str]

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        self.requests.append(self.path)
        if self.path.startswith("/cut/"):
            with open(os.path.join(self.directory, self.path[len("/cut/"):]), "rb") as f:
                body = f.read()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture
def http_server(tmp_path, monkeypatch):
    """A server on 127.0.0.1 (ephemeral port) serving tmp_path/www; yields (base_url, www_dir, requests)."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    www = tmp_path / "www"
    www.mkdir()
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(www)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", www, requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
