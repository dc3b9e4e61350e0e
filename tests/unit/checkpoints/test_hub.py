"""``srcli models``: pull through huggingface_hub from a local server that answers the Hub's
resolve endpoint with a real checkpoint, cache hits, a wrong hash, 404, offline, interrupts."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from srcli.archs.compact import SRVGGNetCompact
from srcli.checkpoints import manifest as registry
from srcli.checkpoints.load import save_checkpoint
from srcli.io.images import read_picture
from tests.images import random_channels, save_8bit

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class HubServer(ThreadingHTTPServer):
    """Answers ``/{repo}/resolve/{revision}/{file}`` like the Hub: HEAD metadata, GET content."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), HubHandler)
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.truncate = False

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class HubHandler(BaseHTTPRequestHandler):
    server: HubServer

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, with_body: bool) -> None:
        path = self.path.split("?")[0]
        self.server.requests.append(f"{self.command} {path}")
        data = self.server.files.get(path)
        if data is None:
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if with_body:
            self.wfile.write(data[: len(data) // 2] if self.server.truncate else data)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def do_GET(self) -> None:
        self._answer(with_body=True)


@pytest.fixture
def hub(monkeypatch, tmp_path):
    server = HubServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("huggingface_hub.utils._http.time.sleep", lambda seconds: None)  # no back-off waits
    yield server
    server.shutdown()


@pytest.fixture
def remote_model(tmp_path, monkeypatch, hub):
    """A manifest (in a temporary weights folder) listing one ×2 model that is not shipped."""
    torch.manual_seed(0)
    checkpoint = tmp_path / "built" / "remote-x2.safetensors"
    save_checkpoint(checkpoint, SRVGGNetCompact(3, 8, 2, 2), {"task": "sr"})
    data = checkpoint.read_bytes()
    weights = tmp_path / "weights"
    weights.mkdir()
    entry = {
        "name": "remote-x2",
        "task": "sr",
        "scale": 2,
        "arch": "compact",
        "file": "remote-x2.safetensors",
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "repo": "acme/models",
        "metrics": {"Set5": {"psnr_y": 30.0, "ssim_y": 0.9, "bicubic_psnr_y": 29.0}},
        "training": {"command": "srcli train sr --scale 2", "steps": 4, "seconds": 60, "pd": True},
    }
    (weights / "manifest.json").write_text(json.dumps({"models": [entry]}))
    monkeypatch.setattr(registry, "weights_dir", lambda: weights)
    hub.files["/acme/models/resolve/main/remote-x2.safetensors"] = data
    return entry


def downloads(hub: HubServer) -> int:
    return sum(1 for r in hub.requests if r.startswith("GET") and "/resolve/" in r)


def snapshots(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "hf-home").rglob("snapshots/*/*")]


def test_pull_then_cache_hit(cli, hub, remote_model, tmp_path):
    listed = json.loads(cli("models", "list", "--json").stdout)
    assert listed["location"] == "remote"
    first = cli("models", "pull", "remote-x2")
    assert first.exit_code == 0, first.output
    assert "sha256 verified" in first.stderr
    assert downloads(hub) == 1
    assert json.loads(cli("models", "list", "--json").stdout)["location"] == "cached"
    assert cli("models", "pull", "remote-x2").exit_code == 0
    assert downloads(hub) == 1  # served from the cache
    assert cli("models", "verify").exit_code == 0


def test_model_name_pulls_on_first_use(cli, hub, remote_model, tmp_path, generator):
    source = save_8bit(tmp_path / "in.png", random_channels(generator, 3, 6, 6))
    result = cli("upscale", source, "--scale", "2", "--model", "remote-x2", "--json", "-q")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["consistency_exact"] is True
    assert read_picture(tmp_path / "in_x2.png").width == 12


def test_wrong_hash_is_rejected_and_not_kept(cli, hub, remote_model, tmp_path):
    hub.files["/acme/models/resolve/main/remote-x2.safetensors"] = b"tampered" * 100
    result = cli("models", "pull", "remote-x2")
    assert result.exit_code == 2 and "sha256 mismatch" in result.stderr
    assert snapshots(tmp_path) == []


def test_404_is_one_clear_line(cli, hub, remote_model):
    hub.files.clear()
    result = cli("models", "pull", "remote-x2")
    assert result.exit_code == 2 and "not found in acme/models@main" in result.stderr
    assert "Traceback" not in result.output


def test_offline_with_nothing_cached(cli, hub, remote_model, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = cli("models", "pull", "remote-x2")
    assert result.exit_code == 2 and "HF_HUB_OFFLINE" in result.stderr
    assert not any("/resolve/" in r for r in hub.requests) and snapshots(tmp_path) == []


def test_offline_after_a_pull_uses_the_cache(cli, hub, remote_model, monkeypatch):
    assert cli("models", "pull", "remote-x2").exit_code == 0
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    resolves = sum("/resolve/" in r for r in hub.requests)
    assert cli("models", "pull", "remote-x2").exit_code == 0
    assert sum("/resolve/" in r for r in hub.requests) == resolves


def test_no_network(cli, hub, remote_model, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    result = cli("models", "pull", "remote-x2")
    assert result.exit_code == 2 and "remote-x2" in result.stderr and "Traceback" not in result.output
    assert snapshots(tmp_path) == []


def test_interrupted_download_leaves_no_model(cli, hub, remote_model, tmp_path):
    hub.truncate = True
    result = cli("models", "pull", "remote-x2")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert snapshots(tmp_path) == []


def test_export_writes_an_upload_folder(cli, hub, remote_model, tmp_path):
    result = cli("models", "export", "remote-x2", tmp_path / "export")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "export"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "remote-x2.safetensors"]
    card = (folder / "README.md").read_text()
    assert "srcli train sr --scale 2" in card and "| Set5 | 30.0 |" in card
    assert json.loads((folder / "config.json").read_text())["scale"] == 2


def test_info_and_unknown_model(cli, remote_model):
    info = json.loads(cli("models", "info", "remote-x2").stdout)
    assert info["repo"] == "acme/models" and info["training"]["steps"] == 4
    unknown = cli("models", "info", "nope")
    assert unknown.exit_code == 2 and "unknown model 'nope'" in unknown.stderr


def test_a_repository_id_the_hub_refuses_is_one_line(cli, hub, remote_model):
    result = cli("models", "pull", "remote-x2", "--repo", "-1")
    assert result.exit_code == 2 and "not a Hub repository id" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
