"""CIFAR10: reading the official format, rejecting damaged or hostile files, downloading safely."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time

import numpy as np
import pytest

from minitorch.data import CIFAR10, DatasetError, ToTensor
from minitorch.data.cifar10 import UnsafePickleError, load_pickle
from minitorch.data.download import default_root
from minitorch.tensor import Tensor

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]


def hwc(rows: np.ndarray) -> np.ndarray:
    """Reference conversion written out per pixel: row[c*1024 + y*32 + x] -> image[y, x, c]."""
    out = np.empty((len(rows), 32, 32, 3), np.uint8)
    for c in range(3):
        for y in range(32):
            out[:, y, :, c] = rows[:, c * 1024 + y * 32: c * 1024 + y * 32 + 32]
    return out


# ------------------------------------------------------------------ reading
def test_reads_train_and_test_splits(cifar_root):
    root, written = cifar_root
    train, test = CIFAR10(root), CIFAR10(str(root), train=False)
    rows = np.concatenate([written[f][0] for f in TRAIN_FILES])
    labels = np.concatenate([written[f][1] for f in TRAIN_FILES])
    assert train.data.shape == (100, 32, 32, 3) and train.data.dtype == np.uint8
    assert train.data.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(train.data, hwc(rows))
    np.testing.assert_array_equal(train.targets, labels)
    assert train.targets.dtype == np.int64
    assert train.classes == CLASSES
    assert len(test) == 12
    np.testing.assert_array_equal(test.data, hwc(written["test_batch"][0]))


def test_getitem_and_get_batch_apply_the_transform(cifar_root):
    root, written = cifar_root
    ds = CIFAR10(root, transform=ToTensor())
    image, label = ds[3]
    assert isinstance(image, Tensor) and image.shape == (3, 32, 32) and image.dtype == np.float32
    assert isinstance(label, int) and label == written["data_batch_1"][1][3]
    # Pixel (y=5, x=7) of the green plane sits at row offset 1024 + 5*32 + 7.
    assert float(image[1, 5, 7]) == pytest.approx(written["data_batch_1"][0][3, 1024 + 5 * 32 + 7] / 255)
    images, labels = ds.get_batch(np.array([3, 0, 99]))
    assert images.shape == (3, 3, 32, 32) and labels.dtype == np.int64
    np.testing.assert_array_equal(images[0], image)
    assert labels[2] == written["data_batch_5"][1][19]


def test_root_defaults_to_env_var_then_home_cache(cifar_root, monkeypatch, tmp_path):
    root, _ = cifar_root
    monkeypatch.setenv("MINITORCH_DATA", str(root))
    assert len(CIFAR10(train=False)) == 12
    monkeypatch.delenv("MINITORCH_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_root() == str(tmp_path / "home" / ".cache" / "minitorch")


def test_missing_dataset_says_where_it_looked_and_how_to_download(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        CIFAR10(tmp_path / "nowhere")
    message = str(info.value)
    assert str(tmp_path / "nowhere" / "cifar-10-batches-py") in message
    assert "download=True" in message


@pytest.mark.parametrize("damage", ["missing", "a folder", "a FIFO"])
def test_an_incomplete_folder_is_damaged_not_absent_and_names_the_file(cifar_root, damage):
    """A caller that falls back to other data when CIFAR-10 is absent must not do so here: a DatasetError."""
    root, _ = cifar_root
    path = root / "cifar-10-batches-py" / "data_batch_3"
    os.remove(path)
    if damage == "a folder":
        path.mkdir()
    elif damage == "a FIFO":
        os.mkfifo(path)
    problem = "is missing" if damage == "missing" else "is not a regular file"
    with pytest.raises(DatasetError, match=f"incomplete: {path} {problem}"):
        CIFAR10(root, train=False)


def test_a_folder_with_none_of_the_files_is_as_good_as_absent(tmp_path):
    (tmp_path / "cifar-10-batches-py").mkdir()
    with pytest.raises(FileNotFoundError, match="holds none of its files"):
        CIFAR10(tmp_path)


def test_a_batch_without_images_is_damaged(cifar_root, cifar_tools):
    root, _ = cifar_root
    path = root / "cifar-10-batches-py" / "test_batch"
    cifar_tools.dump(str(path), {b"data": np.zeros((0, 3072), np.uint8), b"labels": np.zeros(0, np.int64)}, protocol=4)
    with pytest.raises(DatasetError, match=f"{path}: malformed batch: it holds no images"):
        CIFAR10(root, train=False)


def test_truncated_file_is_reported_with_its_name(cifar_root):
    root, _ = cifar_root
    path = root / "cifar-10-batches-py" / "data_batch_2"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DatasetError, match="data_batch_2.*truncated or corrupt"):
        CIFAR10(root)


def _batch(**override):
    """A well-formed batch of 20 images, with fields replaced (or, given None, removed)."""
    rng = np.random.default_rng(7)
    batch = {"batch_label": b"x", "labels": [int(v) for v in rng.integers(0, 10, 20)],
             "data": rng.integers(0, 256, (20, 3072), dtype=np.uint8)}
    batch.update(override)
    return {k.encode(): v for k, v in batch.items() if v is not None}


@pytest.mark.parametrize("obj, problem", [
    ([1, 2, 3], "expected a pickled dict"),
    (_batch(labels=None), "missing key"),
    (_batch(data=np.zeros((20, 3071), np.uint8)), r"shape \(N, 3072\)"),
    (_batch(data=np.zeros((20, 3072), np.int32)), "uint8"),
    (_batch(labels=[0] * 19), "one per image"),
    (_batch(labels=[3] * 19 + [10]), r"labels must be in \[0, 10\)"),
    (_batch(labels=[0] * 19 + [-1]), r"labels must be in \[0, 10\)"),
])
def test_malformed_batch_is_rejected(cifar_root, cifar_tools, obj, problem):
    root, _ = cifar_root
    cifar_tools.dump(str(root / "cifar-10-batches-py" / "data_batch_4"), obj)
    with pytest.raises(DatasetError, match=f"data_batch_4.*{problem}"):
        CIFAR10(root)


def test_malformed_meta_is_rejected(cifar_root, cifar_tools):
    root, _ = cifar_root
    cifar_tools.dump(str(root / "cifar-10-batches-py" / "batches.meta"), {b"label_names": [b"a", b"b"]})
    with pytest.raises(DatasetError, match="batches.meta.*label_names"):
        CIFAR10(root, train=False)


class _Exploit:
    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return self.func, (self.arg,)


@pytest.mark.parametrize("kind", ["os.system", "builtins.exec"])
def test_pickle_that_runs_code_is_refused_before_running(cifar_root, tmp_path, kind):
    root, _ = cifar_root
    marker = tmp_path / "pwned"
    if kind == "os.system":
        payload = _Exploit(os.system, f"touch {marker}")
    else:
        payload = _Exploit(exec, f"open({str(marker)!r}, 'w').close()")
    data = pickle.dumps(_batch(data=payload), protocol=2)
    (root / "cifar-10-batches-py" / "test_batch").write_bytes(data)

    with pytest.raises(UnsafePickleError) as info:
        CIFAR10(root, train=False)
    assert "test_batch" in str(info.value)
    assert kind.split(".")[1] in str(info.value)          # names the forbidden global
    assert isinstance(info.value, DatasetError)
    assert not marker.exists()
    pickle.loads(data)  # the payload is live: plain pickle would have run it
    assert marker.exists()


class _Reduce:
    """Pickles as ``func(*args)``: how a hostile file asks the unpickler for anything."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


_reconstruct = np.ndarray.__reduce__(np.zeros(1))[0]


@pytest.mark.parametrize("payload, problem", [
    (_Reduce(np.ndarray, (300000, 3072), np.dtype("uint8")), "not callable"),
    (_Reduce(_reconstruct, np.ndarray, (300000, 3072), b"B"), r"shape \(300000, 3072\) \(921600000 bytes\)"),
    (_Reduce(_reconstruct, np.ndarray, (-1, 5), b"B"), r"shape \(-1, 5\)"),
    (np.array(["a", "b"]), "dtype <U1"),
    (np.array([object(), 1], dtype=object), "dtype object|global builtins.object"),
])
def test_pickle_that_asks_for_more_memory_than_its_bytes_or_a_foreign_dtype_is_refused(
        cifar_root, payload, problem):
    root, _ = cifar_root
    data = pickle.dumps(_batch(data=payload), protocol=2)
    assert len(data) < 400                      # a few hundred bytes ...
    (root / "cifar-10-batches-py" / "test_batch").write_bytes(data)
    with pytest.raises(DatasetError, match=f"test_batch.*({problem})"):
        CIFAR10(root, train=False)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_every_pickle_protocol_of_an_honest_batch_still_loads(cifar_root, protocol):
    root, written = cifar_root
    with open(root / "cifar-10-batches-py" / "test_batch", "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    (root / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps(batch, protocol=protocol))
    test = CIFAR10(root, train=False)
    assert test.data.shape[1:] == (32, 32, 3) and len(test) == len(batch[b"labels"])


def test_local_copy_of_real_cifar10_loads_quickly():
    folder = os.path.join(default_root(), "cifar-10-batches-py")
    if not os.path.isfile(os.path.join(folder, "test_batch")):
        pytest.skip(f"no CIFAR-10 at {folder}")
    start = time.perf_counter()
    train, test = CIFAR10(), CIFAR10(train=False)
    elapsed = time.perf_counter() - start
    assert train.data.shape == (50000, 32, 32, 3) and test.data.shape == (10000, 32, 32, 3)
    assert np.bincount(test.targets).tolist() == [1000] * 10
    assert train.classes == CLASSES
    with open(os.path.join(folder, "test_batch"), "rb") as f:
        raw = pickle.load(f, encoding="bytes")
    np.testing.assert_array_equal(test.data[:500], hwc(raw[b"data"][:500]))
    np.testing.assert_array_equal(test.targets, raw[b"labels"])
    assert elapsed < 10.0, f"loading 60k images took {elapsed:.1f} s"


# ----------------------------------------------------------------- download
@pytest.fixture
def served_archive(cifar_root, cifar_tools, http_server, monkeypatch):
    """The cifar_root tree packed as cifar-10-python.tar.gz on the local server, URL and MD5 patched in."""
    src, written = cifar_root
    base, www, requests = http_server
    md5 = cifar_tools.make_archive(str(src), str(www / "cifar-10-python.tar.gz"))
    monkeypatch.setattr(CIFAR10, "url", f"{base}/cifar-10-python.tar.gz")
    monkeypatch.setattr(CIFAR10, "md5", md5)
    monkeypatch.delenv("MINITORCH_CIFAR10_URL", raising=False)
    return written, base, www, requests


def test_download_installs_atomically_and_leaves_no_temp_files(served_archive, tmp_path, capsys):
    written, _, _, requests = served_archive
    root = tmp_path / "fresh"
    ds = CIFAR10(root, train=False, download=True)
    np.testing.assert_array_equal(ds.data, hwc(written["test_batch"][0]))
    assert os.listdir(root) == ["cifar-10-batches-py"]
    assert sorted(os.listdir(root / "cifar-10-batches-py")) == sorted(TRAIN_FILES + ["batches.meta", "test_batch"])
    assert requests == ["/cifar-10-python.tar.gz"]
    assert "cifar-10-python.tar.gz" in capsys.readouterr().err  # the progress bar ran
    CIFAR10(root, download=True)  # already there: no second request
    assert len(requests) == 1


def test_url_env_var_overrides_class_attribute(served_archive, tmp_path, monkeypatch):
    _, base, _, requests = served_archive
    monkeypatch.setattr(CIFAR10, "url", f"{base}/does-not-exist.tar.gz")
    monkeypatch.setenv("MINITORCH_CIFAR10_URL", f"{base}/cifar-10-python.tar.gz")
    assert len(CIFAR10(tmp_path / "fresh", train=False, download=True)) == 12
    assert requests == ["/cifar-10-python.tar.gz"]


def test_wrong_md5_names_file_and_both_sums_and_leaves_nothing(served_archive, tmp_path, monkeypatch):
    expected = "0" * 32
    actual = CIFAR10.md5
    monkeypatch.setattr(CIFAR10, "md5", expected)
    root = tmp_path / "fresh"
    with pytest.raises(DatasetError) as info:
        CIFAR10(root, download=True)
    message = str(info.value)
    assert "cifar-10-python.tar.gz" in message and expected in message and actual in message
    assert os.listdir(root) == []


def test_interrupted_download_leaves_nothing(served_archive, tmp_path, monkeypatch):
    _, base, _, requests = served_archive
    monkeypatch.setattr(CIFAR10, "url", f"{base}/cut/cifar-10-python.tar.gz")
    root = tmp_path / "fresh"
    with pytest.raises(DatasetError, match="cifar-10-python.tar.gz"):
        CIFAR10(root, download=True)
    assert requests == ["/cut/cifar-10-python.tar.gz"]
    assert os.listdir(root) == []
    with pytest.raises(FileNotFoundError):  # and a later plain load finds no dataset
        CIFAR10(root)


def test_archive_missing_a_file_is_not_installed(cifar_root, cifar_tools, http_server, tmp_path, monkeypatch):
    src, _ = cifar_root
    base, www, _ = http_server
    md5 = cifar_tools.make_archive(str(src), str(www / "partial.tar.gz"), skip=("data_batch_2",))
    monkeypatch.setattr(CIFAR10, "url", f"{base}/partial.tar.gz")
    monkeypatch.setattr(CIFAR10, "md5", md5)
    monkeypatch.delenv("MINITORCH_CIFAR10_URL", raising=False)
    root = tmp_path / "fresh"
    with pytest.raises(DatasetError, match="data_batch_2"):
        CIFAR10(root, download=True)
    assert os.listdir(root) == []


def test_http_error_is_reported(served_archive, tmp_path, monkeypatch):
    _, base, _, _ = served_archive
    monkeypatch.setattr(CIFAR10, "url", f"{base}/missing.tar.gz")
    with pytest.raises(DatasetError, match="404"):
        CIFAR10(tmp_path / "fresh", download=True)
    assert os.listdir(tmp_path / "fresh") == []


def test_dataset_appears_only_by_one_rename_from_inside_root(served_archive, tmp_path, monkeypatch):
    """The install is a single rename of a complete folder staged inside root; if even that
    fails (a crash at the last moment), nothing is left behind."""
    root = tmp_path / "fresh"
    renames = []

    def crash(src, dst):
        renames.append((src, dst, sorted(os.listdir(src)), os.listdir(root)))
        raise OSError("simulated crash")

    monkeypatch.setattr(os, "rename", crash)
    with pytest.raises(OSError, match="simulated crash"):
        CIFAR10(root, download=True)
    [(src, dst, staged, before)] = renames
    assert dst == str(root / "cifar-10-batches-py")
    assert os.path.commonpath([src, str(root)]) == str(root)      # same filesystem as the target
    assert staged == sorted(TRAIN_FILES + ["batches.meta", "test_batch"])
    assert "cifar-10-batches-py" not in before
    assert os.listdir(root) == []


# ------------------------------------------------- crafted structures: bounded before anything is built
def _load_in_a_child(path) -> subprocess.CompletedProcess:
    """load_pickle(path) in a fresh interpreter: a crash (SIGSEGV) must not take the test run with it."""
    code = ("import sys\nfrom minitorch.data.cifar10 import load_pickle\n"
            "try:\n    load_pickle(sys.argv[1])\nexcept Exception as exc:\n"
            "    print(type(exc).__name__, exc, file=sys.stderr); sys.exit(1)\n")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=repo))


def test_a_deeply_nested_pickle_is_refused_not_a_crash(cifar_root):
    """200 KB of TUPLE1 opcodes: a tuple nested 200 000 deep, used as a dict key, overflows the C stack when
    hashed (plain pickle.loads dies by SIGSEGV)."""
    root, _ = cifar_root
    path = root / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(b"}" + b"K\x01" + b"\x85" * 200000 + b"K\x00s.")
    result = _load_in_a_child(path)
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "UnsafePickleError" in result.stderr and "more than 100 levels deep" in result.stderr
    with pytest.raises(UnsafePickleError, match="test_batch.*nests objects more than 100 levels deep"):
        CIFAR10(root, train=False)


def test_shared_references_that_expand_to_gigabytes_are_refused(cifar_root, cifar_tools):
    """Eight levels of ten references to the list below: 6.6 KB that np.asarray would make 10**9 labels."""
    root, _ = cifar_root
    labels: list = [1] * 10
    for _ in range(8):
        labels = [labels] * 10
    path = str(root / "cifar-10-batches-py" / "data_batch_1")
    cifar_tools.dump(path, _batch(labels=labels))
    assert os.path.getsize(path) < 100_000                  # 20 images and the labels: 10**9 of them expanded
    with pytest.raises(UnsafePickleError, match="data_batch_1.*holds more than .* objects, shared references"):
        load_pickle(path)


def test_a_pickle_that_contains_itself_is_refused(cifar_root):
    root, _ = cifar_root
    path = root / "cifar-10-batches-py" / "data_batch_1"
    loop: list = []
    loop.append(loop)
    path.write_bytes(pickle.dumps({b"labels": loop}, protocol=2))
    with pytest.raises(UnsafePickleError, match="contains itself"):
        load_pickle(str(path))


def test_label_names_that_are_not_utf8_are_a_dataset_error(cifar_root, cifar_tools):
    root, _ = cifar_root
    cifar_tools.dump(str(root / "cifar-10-batches-py" / "batches.meta"), {b"label_names": [b"\xff\xfe"] * 10})
    with pytest.raises(DatasetError, match="batches.meta: malformed meta file: a label name is not UTF-8"):
        CIFAR10(root, train=False)
