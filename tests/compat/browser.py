"""A real headless Chromium (Debian's, driven by Playwright for Python) for the sign-in
pages, and a loopback listener standing in for a native app's redirect URI."""

import base64
import hashlib
import http.server
import os
import secrets
import ssl
import threading
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import serialization

CHROMIUM = os.environ.get("PALISADE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def spki_pin(host, port):
    """The base64 SHA-256 of the server certificate's public key: Chromium trusts exactly
    this certificate (--ignore-certificate-errors-spki-list), nothing else."""
    pem = ssl.get_server_certificate((host, port))
    cert = x509.load_pem_x509_certificate(pem.encode())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def launch(playwright, server):
    pin = spki_pin("localhost", int(server["port"]))
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS + [f"--ignore-certificate-errors-spki-list={pin}"])


def pkce():
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class Redirects:
    """An HTTP listener on 127.0.0.1 that records the query of every request (the app's
    redirect URI) and answers with a small page."""

    def __init__(self):
        self.seen = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                query = urllib.parse.urlsplit(self.path).query
                if query:  # not the browser's /favicon.ico
                    outer.seen.append(dict(urllib.parse.parse_qsl(query)))
                body = b"<!DOCTYPE html><title>App</title><h1>Back in the app</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def screenshot(page, name):
    """Keeps a screenshot: under $PALISADE_SCREENSHOTS (the README's docs/) when set."""
    out = os.environ.get("PALISADE_SCREENSHOTS")
    if out:
        os.makedirs(out, exist_ok=True)
        page.screenshot(path=os.path.join(out, name), full_page=True)
