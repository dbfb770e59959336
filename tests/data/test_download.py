"""Download, verification and caching (no network: file:// URLs, a local HTTP server, monkeypatch)."""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
import zipfile
from pathlib import Path

import pytest

from tfrec.data import download
from tfrec.data.download import cache_root, dataset_dir, ensure_files, fetch, git_blob_sha1
from tfrec.data.registry import DatasetSpec, RemoteFile
from tfrec.errors import DataError, UserError

RATINGS = b"1::10::5::978300760\n1::20::3::978302109\n2::10::4::978301968\n"
MOVIES = b"10::Movie A (1995)::Comedy\n20::Movie B (1996)::Drama\n"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    """Point the cache at a fresh folder for every test."""
    root = tmp_path / "home"
    monkeypatch.setenv("TFREC_HOME", str(root))
    return root


@pytest.fixture
def src(tmp_path) -> Path:
    """A folder of 'remote' files served through file:// URLs."""
    folder = tmp_path / "remote"
    folder.mkdir()
    (folder / "ratings.dat").write_bytes(RATINGS)
    (folder / "movies.dat").write_bytes(MOVIES)
    return folder


def sha(data: bytes, tmp_path: Path) -> str:
    f = tmp_path / "sha-tmp"
    f.write_bytes(data)
    return git_blob_sha1(f)


def parts(folder: Path) -> list[Path]:
    return list(folder.rglob("*.part-*")) if folder.exists() else []


def spec_for(files: tuple[RemoteFile, ...], required: tuple[str, ...] = ("ratings.dat",), **kw) -> DatasetSpec:
    return DatasetSpec(
        name=kw.pop("name", "toy"), task="implicit", description="toy", files=files, required=required,
        loader="nowhere:load", **kw,
    )


# --------------------------------------------------------------------------------------------
# git_blob_sha1
# --------------------------------------------------------------------------------------------
def test_git_blob_sha1_known_values(tmp_path):
    assert sha(b"", tmp_path) == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert sha(b"hello\n", tmp_path) == "ce013625030ba8dba906f756967f9e9ca394464a"


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_blob_sha1_equals_git_hash_object(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "_CHUNK", 7)  # exercise the chunked read
    f = tmp_path / "small.bin"
    f.write_bytes(RATINGS * 3 + bytes(range(256)))
    expected = subprocess.run(["git", "hash-object", str(f)], capture_output=True, text=True, check=True).stdout.strip()
    assert git_blob_sha1(f) == expected


# --------------------------------------------------------------------------------------------
# fetch
# --------------------------------------------------------------------------------------------
def test_fetch_ok(src, tmp_path):
    dest = tmp_path / "out" / "ratings.dat"
    got = fetch((src / "ratings.dat").as_uri(), dest, sha1=sha(RATINGS, tmp_path), size=len(RATINGS), progress=False)
    assert got == dest and dest.read_bytes() == RATINGS
    assert parts(dest.parent) == []


def test_fetch_unknown_checksum_and_size(src, tmp_path):
    dest = tmp_path / "out" / "ratings.dat"
    fetch((src / "ratings.dat").as_uri(), dest, sha1=None, size=None, progress=False)
    assert dest.read_bytes() == RATINGS


def test_fetch_checksum_mismatch(src, tmp_path):
    dest = tmp_path / "out" / "ratings.dat"
    url = (src / "ratings.dat").as_uri()
    wrong = "0" * 40
    with pytest.raises(DataError) as e:
        fetch(url, dest, sha1=wrong, size=None, progress=False, dataset="toy")
    msg = str(e.value)
    assert "ratings.dat" in msg and url in msg and wrong in msg and sha(RATINGS, tmp_path) in msg and "'toy'" in msg
    assert not dest.exists()
    assert parts(dest.parent) == []


def test_fetch_size_mismatch(src, tmp_path):
    dest = tmp_path / "out" / "ratings.dat"
    with pytest.raises(DataError, match=r"ratings\.dat.*expected 999 bytes, got"):
        fetch((src / "ratings.dat").as_uri(), dest, sha1=sha(RATINGS, tmp_path), size=999, progress=False)
    assert not dest.exists() and parts(dest.parent) == []


def test_fetch_mismatch_keeps_existing_file(src, tmp_path):
    dest = tmp_path / "ratings.dat"
    dest.write_bytes(b"old")
    with pytest.raises(DataError):
        fetch((src / "ratings.dat").as_uri(), dest, sha1="0" * 40, size=None, progress=False)
    assert dest.read_bytes() == b"old"


def test_fetch_unreachable(tmp_path):
    dest = tmp_path / "out" / "ratings.dat"
    url = "http://127.0.0.1:9/ratings.dat"
    with pytest.raises(DataError) as e:
        fetch(url, dest, sha1=None, size=None, progress=False, dataset="ml-1m")
    msg = str(e.value)
    assert "could not download ratings.dat for dataset 'ml-1m'" in msg
    assert url in msg and "offline" in msg and "--data-dir" in msg
    assert not dest.exists() and parts(dest.parent) == []


def test_fetch_missing_file_url(tmp_path):
    with pytest.raises(DataError, match="--data-dir"):
        fetch((tmp_path / "nope.dat").as_uri(), tmp_path / "x.dat", sha1=None, size=None, progress=False)
    assert parts(tmp_path) == []


@pytest.fixture
def http_server(src):
    """A local HTTP server: serves `src`, 404s elsewhere, and /short lies about its length."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(src), **kw)

        def do_GET(self):
            if self.path == "/short":
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b"only ten b")
                self.wfile.flush()
                self.close_connection = True
                return
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetch_http(http_server, tmp_path):
    dest = tmp_path / "ratings.dat"
    fetch(f"{http_server}/ratings.dat", dest, sha1=sha(RATINGS, tmp_path), size=len(RATINGS), progress=False)
    assert dest.read_bytes() == RATINGS


def test_fetch_http_404(http_server, tmp_path):
    with pytest.raises(DataError, match=r"HTTP 404.*--data-dir"):
        fetch(f"{http_server}/missing.dat", tmp_path / "missing.dat", sha1=None, size=None, progress=False)
    assert list(tmp_path.glob("missing*")) == []


def test_fetch_truncated_transfer(http_server, tmp_path):
    dest = tmp_path / "short"
    with pytest.raises(DataError):
        fetch(f"{http_server}/short", dest, sha1=None, size=None, progress=False)
    assert not dest.exists() and parts(tmp_path) == []


def test_fetch_interrupted_leaves_nothing(monkeypatch, tmp_path):
    class Response:
        headers: dict = {}
        calls = 0

        def read(self, n):
            Response.calls += 1
            if Response.calls > 1:
                raise KeyboardInterrupt
            return b"partial data"

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(download.urllib.request, "urlopen", lambda url, timeout: Response())
    dest = tmp_path / "big.dat"
    with pytest.raises(KeyboardInterrupt):
        fetch("http://example.invalid/big.dat", dest, sha1=None, size=None, progress=False)
    assert not dest.exists() and parts(tmp_path) == []


# --------------------------------------------------------------------------------------------
# cache location
# --------------------------------------------------------------------------------------------
def test_tfrec_home_respected(home):
    assert cache_root() == home
    assert dataset_dir("ml-1m") == home / "datasets" / "ml-1m"


def test_default_cache_root(monkeypatch, tmp_path):
    monkeypatch.delenv("TFREC_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_root() == tmp_path / ".cache" / "tfrec"


# --------------------------------------------------------------------------------------------
# ensure_files: plain files
# --------------------------------------------------------------------------------------------
def test_ensure_files_downloads_into_cache(src, home, tmp_path):
    spec = spec_for((
        RemoteFile("ratings.dat", (src / "ratings.dat").as_uri(), sha(RATINGS, tmp_path), len(RATINGS)),
        RemoteFile("movies.dat", (src / "movies.dat").as_uri(), None, None),
    ))
    folder = ensure_files(spec, progress=False)
    assert folder == home / "datasets" / "toy"
    assert (folder / "ratings.dat").read_bytes() == RATINGS
    assert (folder / "movies.dat").read_bytes() == MOVIES
    # cached: works without the source
    shutil.rmtree(src)
    assert ensure_files(spec, progress=False) == folder


def test_ensure_files_redownloads_corrupt_cache(src, tmp_path):
    spec = spec_for((RemoteFile("ratings.dat", (src / "ratings.dat").as_uri(), sha(RATINGS, tmp_path), len(RATINGS)),))
    folder = ensure_files(spec, progress=False)
    (folder / "ratings.dat").write_bytes(RATINGS[:-5] + b"XXXXX")  # same size, wrong content
    ensure_files(spec, progress=False)
    assert (folder / "ratings.dat").read_bytes() == RATINGS


def test_ensure_files_mismatch_leaves_nothing(src):
    spec = spec_for((RemoteFile("ratings.dat", (src / "ratings.dat").as_uri(), "1" * 40, None),))
    with pytest.raises(DataError, match="ratings.dat"):
        ensure_files(spec, progress=False)
    folder = dataset_dir("toy")
    assert not (folder / "ratings.dat").exists() and parts(folder) == []


def test_ensure_files_offline_message_names_required(tmp_path):
    spec = spec_for(
        (RemoteFile("ratings.dat", "http://127.0.0.1:9/ml-1m.zip", None, None, "ml-1m/ratings.dat"),),
        required=("ratings.dat|ratings.csv",),
        name="ml-1m",
    )
    with pytest.raises(DataError) as e:
        ensure_files(spec, progress=False)
    msg = str(e.value)
    assert "'ml-1m'" in msg and "--data-dir DIR (a folder holding ratings.dat (or ratings.csv))" in msg
    assert parts(dataset_dir("ml-1m")) == []


def test_stale_part_files_removed(src, tmp_path):
    import os

    spec = spec_for((RemoteFile("ratings.dat", (src / "ratings.dat").as_uri(), None, None),))
    folder = dataset_dir("toy")
    folder.mkdir(parents=True)
    stale, fresh = folder / "ratings.dat.part-old", folder / "ratings.dat.part-new"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"x")
    os.utime(stale, (1, 1))
    ensure_files(spec, progress=False)
    assert not stale.exists() and fresh.exists()


# --------------------------------------------------------------------------------------------
# ensure_files: zip members
# --------------------------------------------------------------------------------------------
@pytest.fixture
def zip_src(tmp_path) -> Path:
    z = tmp_path / "remote-zip" / "ml-toy.zip"
    z.parent.mkdir()
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ml-toy/ratings.dat", RATINGS)
        zf.writestr("ml-toy/movies.dat", MOVIES)
        zf.writestr("ml-toy/README", b"readme\n")
    return z


def zip_spec(zip_src: Path, tmp_path: Path, ratings_sha: str | None = None) -> DatasetSpec:
    url = zip_src.as_uri()
    return spec_for((
        RemoteFile("ratings.dat", url, ratings_sha or sha(RATINGS, tmp_path), None, "ml-toy/ratings.dat"),
        RemoteFile("movies.dat", url, sha(MOVIES, tmp_path), len(MOVIES), "ml-toy/movies.dat"),
    ))


def test_zip_members_extracted_and_verified(zip_src, tmp_path):
    folder = ensure_files(zip_spec(zip_src, tmp_path), progress=False)
    assert (folder / "ratings.dat").read_bytes() == RATINGS
    assert (folder / "movies.dat").read_bytes() == MOVIES
    assert not (folder / "README").exists()
    assert (folder / "ml-toy.zip").exists()
    assert parts(folder) == []


def test_zip_member_checksum_mismatch(zip_src, tmp_path):
    with pytest.raises(DataError) as e:
        ensure_files(zip_spec(zip_src, tmp_path, ratings_sha="2" * 40), progress=False)
    msg = str(e.value)
    assert "ml-toy/ratings.dat" in msg and "2" * 40 in msg and zip_src.as_uri() in msg
    folder = dataset_dir("toy")
    assert not (folder / "ratings.dat").exists()
    assert not (folder / "ml-toy.zip").exists()
    assert parts(folder) == []


def test_zip_missing_member(zip_src, tmp_path):
    spec = spec_for((RemoteFile("u.data", zip_src.as_uri(), None, None, "ml-toy/u.data"),))
    with pytest.raises(DataError, match="no member ml-toy/u.data"):
        ensure_files(spec, progress=False)


def test_zip_cached_corrupt_archive_redownloaded(zip_src, tmp_path):
    spec = zip_spec(zip_src, tmp_path)
    folder = ensure_files(spec, progress=False)
    (folder / "ratings.dat").unlink()
    (folder / "ml-toy.zip").write_bytes(b"not a zip at all")
    ensure_files(spec, progress=False)
    assert (folder / "ratings.dat").read_bytes() == RATINGS
    assert zipfile.is_zipfile(folder / "ml-toy.zip")


def test_zip_corrupt_extracted_member_reextracted(zip_src, tmp_path):
    spec = zip_spec(zip_src, tmp_path)
    folder = ensure_files(spec, progress=False)
    (folder / "movies.dat").write_bytes(b"garbage")
    zip_src.unlink()  # the cached archive is enough
    ensure_files(spec, progress=False)
    assert (folder / "movies.dat").read_bytes() == MOVIES


# --------------------------------------------------------------------------------------------
# ensure_files: local --data-dir
# --------------------------------------------------------------------------------------------
def test_data_dir_used_as_is(tmp_path):
    local = tmp_path / "mine"
    local.mkdir()
    (local / "ratings.csv").write_text("user_id,item_id,rating\n1,2,5\n")
    spec = spec_for((RemoteFile("ratings.dat", "http://127.0.0.1:9/x.zip", "3" * 40, 1, "x/ratings.dat"),),
                    required=("ratings.dat|ratings.csv",))
    assert ensure_files(spec, local, progress=False) == local
    assert not dataset_dir("toy").exists()  # nothing downloaded or cached


def test_data_dir_missing_file(tmp_path):
    local = tmp_path / "mine"
    local.mkdir()
    (local / "ml-1m.test.rating").write_text("")
    spec = spec_for((), required=("ml-1m.test.rating", "ml-1m.test.negative"))
    with pytest.raises(DataError) as e:
        ensure_files(spec, local)
    assert "ml-1m.test.negative" in str(e.value) and str(local) in str(e.value)


def test_data_dir_missing_alternatives(tmp_path):
    spec = spec_for((), required=("ratings.dat|ratings.csv",))
    with pytest.raises(DataError, match=r"ratings\.dat or ratings\.csv not found"):
        ensure_files(spec, tmp_path)


def test_data_dir_does_not_exist(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        ensure_files(spec_for(()), tmp_path / "nope")


def test_data_dir_file(tmp_path):
    f = tmp_path / "ratings.csv"
    f.write_text("u,i\n1,2\n")
    with pytest.raises(DataError, match="is a file"):
        ensure_files(spec_for(()), f)
    user = spec_for((), required=(), user_data=True)
    assert ensure_files(user, f) == f


def test_user_data_needs_data_dir():
    with pytest.raises(UserError, match="--data-dir"):
        ensure_files(spec_for((), required=(), user_data=True))


def test_generated_dataset_has_nothing_to_download():
    with pytest.raises(UserError, match="nothing to download|no files"):
        ensure_files(spec_for((), required=()))


# --------------------------------------------------------------------------------------------
# ensure_files end to end over http://127.0.0.1 (the three cases)
# --------------------------------------------------------------------------------------------
@pytest.fixture
def switchable_server():
    """A local HTTP server serving RATINGS at /ratings.dat in a mode the test switches:
    ``ok`` (the file), ``corrupt`` (same length, other bytes), ``cut`` (announces the full
    length, sends half and closes) or ``cut-unannounced`` (no Content-Length, half the bytes).
    ``state["requests"]`` counts the GETs."""
    state = {"mode": "ok", "requests": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            state["requests"] += 1
            if self.path != "/ratings.dat":
                self.send_error(404)
                return
            mode = state["mode"]
            body = RATINGS if mode != "corrupt" else RATINGS[::-1]
            self.send_response(200)
            if mode != "cut-unannounced":
                self.send_header("Content-Length", str(len(RATINGS)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if mode.startswith("cut") else body)
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/ratings.dat"
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def http_spec(url: str, tmp_path: Path, *, sha1: bool = True, size: bool = True) -> DatasetSpec:
    return spec_for((RemoteFile("ratings.dat", url, sha(RATINGS, tmp_path) if sha1 else None, len(RATINGS) if size else None),))


def folder_contents(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_http_good_download_is_cached(switchable_server, home, tmp_path):
    spec = http_spec(switchable_server["url"], tmp_path)
    folder = ensure_files(spec, progress=False)
    assert (folder / "ratings.dat").read_bytes() == RATINGS
    assert folder_contents(folder) == ["ratings.dat"] and switchable_server["requests"] == 1
    switchable_server["mode"] = "corrupt"  # the server changed: the verified cache is used, not the network
    assert ensure_files(spec, progress=False) == folder
    assert (folder / "ratings.dat").read_bytes() == RATINGS and switchable_server["requests"] == 1


@pytest.mark.parametrize("size_known", [True, False])
def test_http_corrupted_file_is_refused_and_nothing_cached(switchable_server, tmp_path, size_known):
    spec = http_spec(switchable_server["url"], tmp_path, size=size_known)
    switchable_server["mode"] = "corrupt"
    with pytest.raises(DataError) as error:
        ensure_files(spec, progress=False)
    message = str(error.value)
    assert "ratings.dat" in message and "fails verification" in message and "not kept" in message
    assert sha(RATINGS, tmp_path) in message and sha(RATINGS[::-1], tmp_path) in message
    assert folder_contents(dataset_dir("toy")) == []
    switchable_server["mode"] = "ok"  # fixed upstream: the next call downloads the good file
    assert (ensure_files(spec, progress=False) / "ratings.dat").read_bytes() == RATINGS
    assert switchable_server["requests"] == 2


@pytest.mark.parametrize(
    "mode, sha1, size",
    [
        ("cut", True, True),  # every check would catch it
        ("cut", False, False),  # only the announced Content-Length catches it
        ("cut-unannounced", True, False),  # only the checksum catches it
    ],
)
def test_http_transfer_cut_midway_leaves_nothing_and_next_call_downloads(switchable_server, tmp_path, mode, sha1, size):
    spec = http_spec(switchable_server["url"], tmp_path, sha1=sha1, size=size)
    switchable_server["mode"] = mode
    with pytest.raises(DataError, match="ratings.dat"):
        ensure_files(spec, progress=False)
    assert folder_contents(dataset_dir("toy")) == []  # no ratings.dat, no ratings.dat.part-*
    switchable_server["mode"] = "ok"
    folder = ensure_files(spec, progress=False)
    assert (folder / "ratings.dat").read_bytes() == RATINGS
    assert folder_contents(folder) == ["ratings.dat"] and switchable_server["requests"] == 2
