#!/usr/bin/env python3
"""dump_acts' pages in a real browser (issue 20): headless Chromium opens every page a small
sample run makes (one image, several images with heatmaps, saliency, filter grids and
activations, misclassified.html; train_gpu's stats.html of the run and two of its epochs side by side
with --compare, an --animate page and the --top pages of issue 22) and checks that every image loads (naturalWidth > 0), that
nothing is logged as an error (console, exceptions, failed loads) and that no URL leaves the
output folder (no http(s) or protocol-relative src/href, no request other than file:).

Chromium is driven through the DevTools protocol over a pipe (--remote-debugging-pipe: JSON
messages ended by NUL on file descriptors 3 and 4), so the test needs the Python standard library
only. Without Chromium it exits 77, which ctest reports as skipped with the reason printed;
scripts/test.sh installs Debian's `chromium` package so that CI runs it.

  pages_chromium_test.py DUMP_ACTS TRAIN_GPU SAMPLE_DIR WORK_DIR
"""
import fcntl
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import urllib.parse

SKIP = 77


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run(cmd):
    print("+", " ".join(cmd), flush=True)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: exit {r.returncode}: {' '.join(cmd)}\n{r.stdout}")
    return r.stdout


def make_pages(dump_acts, train_gpu, sample, work):
    """A tiny run on the sample photos and the dumps whose pages are checked; their index pages."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    run_dir = os.path.join(work, "run")
    run([train_gpu, "--data", sample, "--out", run_dir, "--image-size", "48", "--epochs", "2", "--keep-every", "1",
         "--steps-per-epoch", "1", "--validation-steps", "1", "--device", "cpu"])
    cat, dog = f"{sample}/test/cats/cat.1500.jpg", f"{sample}/test/dogs/dog.1500.jpg"
    base = [dump_acts, "--model", run_dir, "--device", "cpu"]
    many = os.path.join(work, "many")
    run(base + ["--image", cat, dog, "--cam", "all", "--saliency", "--smoothgrad", "2", "--filters", "conv2d_1",
                "--filter-steps", "2", "--layer", "conv2d_1,dense_2", "--channel", "3", "--out", many])
    one = os.path.join(work, "one")
    run(base + ["--image", cat, "--cam", "gradcam", "--filters", "conv2d_2", "--filter-steps", "2", "--out", one])
    wrong = os.path.join(work, "wrong")
    run(base + ["--misclassified", "test", "--cam", "gradcam,scorecam", "--out", wrong])
    epochs = os.path.join(work, "epochs")
    run(base[:2] + [os.path.join(run_dir, "epochs", "epoch_001.safetensors"), "--device", "cpu", "--compare",
                    os.path.join(run_dir, "epochs", "epoch_002.safetensors"), "--image", cat, "--layer",
                    "conv2d_1,dense_2", "--out", epochs])
    anim = os.path.join(work, "anim")
    run(base + ["--image", cat, "--animate", "--layer", "conv2d_1,dense_2", "--out", anim])
    top = os.path.join(work, "top")
    run(base + ["--top", "3", "--data", "validation", "--layer", "conv2d_2,dense_1", "--out", top])
    first_photo = sorted(pathlib.Path(top, "top_images").glob("*.html"))[0]
    return [os.path.join(anim, "index.html"), os.path.join(top, "index.html"), os.path.join(top, "top_conv2d_2.html"), str(first_photo),
            os.path.join(many, "index.html"), os.path.join(one, "index.html"), os.path.join(wrong, "index.html"),
            os.path.join(wrong, "misclassified.html"), os.path.join(run_dir, "stats.html"),
            os.path.join(epochs, "index.html")]


class Chromium:
    """One headless Chromium, spoken to over --remote-debugging-pipe."""

    def __init__(self, binary):
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        # Above 4, so that the dup2 onto 3 and 4 in the child cannot overwrite one another.
        a, b = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
        os.close(to_child_r)
        os.close(from_child_w)

        def fds():
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--allow-file-access-from-files", "--no-first-run", "--user-data-dir=" + os.path.join(WORK, "profile"),
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=fds, pass_fds=(3, 4, a, b))
        os.close(a)
        os.close(b)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        return self.wait(lambda m: m.get("id") == self.next_id, f"the answer to {method}")

    def wait(self, match, what):
        # Blocks until Chromium answers or closes its pipe: no wall-clock limit of our own (a slow,
        # loaded machine must not fail the test); a hang is ctest's per-test TIMEOUT to fail.
        while True:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                m = json.loads(raw)
                if "id" not in m:
                    self.events.append(m)
                if match(m):
                    if "error" in m:
                        sys.exit(f"FAIL: Chromium: {m['error']}")
                    return m
            chunk = os.read(self.from_child, 1 << 20)
            if not chunk:
                sys.exit(f"FAIL: Chromium closed its pipe while we waited for {what}")
            self.buf += chunk

    def close(self):
        try:
            os.write(self.to_child, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
            self.proc.wait(timeout=20)
        except Exception:  # pylint: disable=broad-except
            self.proc.kill()
            self.proc.wait()


PAGE_FACTS = """JSON.stringify({
  images: Array.from(document.images).map(i => ({src: i.getAttribute('src'), done: i.complete, w: i.naturalWidth})),
  charts: Array.from(document.querySelectorAll('svg')).filter(s => s.getBoundingClientRect().width > 0 &&
                                                                   s.querySelector('polyline')).length,
  urls: Array.from(document.querySelectorAll('[src],[href]')).map(e => e.getAttribute('src') || e.getAttribute('href')),
  css: Array.from(document.querySelectorAll('style')).map(s => s.textContent).join(' ')
})"""


def check_page(browser, path):
    """Problems of one page (a list of strings) and the local pages it links."""
    problems = []
    target = browser.send("Target.createTarget", {"url": "about:blank"})["result"]["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["result"]["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.send(domain + ".enable", session=session)
    browser.events = []
    url = pathlib.Path(path).resolve().as_uri()
    browser.send("Page.navigate", {"url": url}, session=session)
    browser.wait(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session,
                 f"the load event of {path}")
    facts = json.loads(browser.send("Runtime.evaluate", {"expression": PAGE_FACTS, "returnByValue": True},
                                    session=session)["result"]["result"]["value"])
    for e in browser.events:
        if e.get("sessionId") != session:
            continue
        p, method = e.get("params", {}), e.get("method")
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            problems.append(f"console {p['type']}: {[a.get('value') for a in p.get('args', [])]}")
        elif method == "Runtime.exceptionThrown":
            problems.append(f"exception: {p['exceptionDetails'].get('text')}")
        elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
            problems.append(f"log error: {p['entry']['text']} {p['entry'].get('url', '')}")
        elif method == "Network.loadingFailed":
            problems.append(f"failed load: {p.get('errorText')} (request {p.get('requestId')})")
        elif method == "Network.requestWillBeSent" and not p["request"]["url"].startswith(("file:", "data:")):
            problems.append(f"request outside the folder: {p['request']['url']}")
    if not facts["images"] and not facts["charts"]:
        problems.append("no image or drawn chart on the page")
    for img in facts["images"]:
        if not img["done"] or img["w"] <= 0:
            problems.append(f"image does not load: {img['src']} (naturalWidth {img['w']})")
    for u in facts["urls"] + re.findall(r"url\(([^)]*)\)", facts["css"]):
        if re.match(r"\s*['\"]?\s*(https?:|//)", u, re.I):
            problems.append(f"external URL: {u}")
    links = []
    here = os.path.dirname(path)
    for u in facts["urls"]:
        local = urllib.parse.unquote(u.split("#")[0])
        if not local or re.match(r"[a-z]+:", local):
            continue
        f = os.path.normpath(os.path.join(here, local))
        if not os.path.exists(f):
            problems.append(f"link to a missing file: {u}")
        elif f.endswith(".html"):
            links.append(f)
    browser.send("Target.closeTarget", {"targetId": target})
    return problems, links


# A page with one of each problem: the checker must report all of them, or it could pass anything.
BROKEN_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>broken</title></head><body>
<img src="missing.png" alt="missing"><img src="http://127.0.0.1:9/x.png" alt="external">
<script>console.error("deliberate")</script></body></html>"""


def check_the_checker(browser):
    path = os.path.join(WORK, "broken", "index.html")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(BROKEN_PAGE)
    problems, _ = check_page(browser, path)
    want = ["image does not load: missing.png", "external URL: http://127.0.0.1:9/x.png", "console error",
            "link to a missing file: missing.png"]
    missed = [w for w in want if not any(p.startswith(w) for p in problems)]
    if missed:
        sys.exit(f"FAIL: the checker missed {missed} on a broken page; it found {problems}")
    print(f"checker: finds the {len(want)} planted problems of a broken page", flush=True)


def main():
    global WORK
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    dump_acts, train_gpu, sample, WORK = sys.argv[1:]
    binary = find_chromium()
    if not binary:
        print("SKIPPED: no Chromium (chromium, chromium-browser, google-chrome) on PATH: dump_acts' pages were NOT "
              "checked in a browser. Install Debian's package: sudo apt-get install chromium (scripts/test.sh does).",
              flush=True)
        return SKIP
    todo = make_pages(dump_acts, train_gpu, sample, WORK)
    print(f"Chromium: {binary}", flush=True)
    browser = Chromium(binary)
    seen, failed = set(), 0
    try:
        check_the_checker(browser)
        while todo:
            page = os.path.normpath(todo.pop(0))
            if page in seen:
                continue
            seen.add(page)
            problems, links = check_page(browser, page)
            todo += links
            status = "ok" if not problems else "FAIL"
            print(f"{status}: {os.path.relpath(page, WORK)}", flush=True)
            for p in problems:
                print("   ", p)
            failed += bool(problems)
    finally:
        browser.close()
    print(f"{len(seen)} pages checked, {failed} with problems")
    return 1 if failed or len(seen) < 8 else 0


WORK = ""
if __name__ == "__main__":
    sys.exit(main())
