"""Opens a page in headless Chromium (Debian's `chromium`) and samples a JavaScript expression.

    chromium_page.py --url URL [--expression "JSON.stringify(window.moqState)"] [--samples 3] [--interval 1]
                     [--until "window.moqState && window.moqState.frames > 0"] [--timeout 60]

Drives the browser over CDP on --remote-debugging-pipe (standard library only; the recipe in
shared/reference/chromium-webtransport.md). Waits for the load event, then for --until to be true, then
prints --samples lines {"event":"sample","value":<the expression's value>} --interval seconds apart, then
{"event":"exit","code":0}. Exit code 0 iff every step completed before --timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

QUIET_FLAGS = [
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
    "--disable-extensions", "--no-pings", "--disable-domain-reliability",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]


class Browser:
    """Chromium with CDP on fds 3 (commands in) and 4 (results out)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.profile = tempfile.mkdtemp(prefix="chromium-page-")
        r_cmd, self.w_cmd = os.pipe()
        self.r_res, w_res = os.pipe()

        def fds() -> None:
            os.dup2(r_cmd, 3)
            os.dup2(w_res, 4)

        self.process = subprocess.Popen(
            [os.environ.get("CHROME", "chromium"), "--headless=new", "--no-sandbox", "--disable-gpu",
             "--remote-debugging-pipe", "--no-first-run", "--user-data-dir=" + self.profile, *QUIET_FLAGS,
             "about:blank"],
            pass_fds=(3, 4), preexec_fn=fds, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(r_cmd)
        os.close(w_res)
        self.buffer = b""
        self.next_id = 0
        self.events: list[str] = []

    def receive(self) -> dict:
        while b"\0" not in self.buffer:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.r_res], [], [], remaining)[0]:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self.r_res, 1 << 16)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.next_id += 1
        command = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            command["sessionId"] = session
        os.write(self.w_cmd, json.dumps(command).encode() + b"\0")
        while True:
            message = self.receive()
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if message.get("method"):
                self.events.append(message["method"])

    def evaluate(self, expression: str, session: str):
        result = self.call(
            "Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True}, session)
        return result.get("result", {}).get("value")

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--expression", default="JSON.stringify(window.moqState)")
    parser.add_argument("--until", default="true")
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    browser = Browser(time.monotonic() + args.timeout)
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        browser.call("Page.enable", session=session)
        browser.call("Page.navigate", {"url": args.url}, session=session)
        while "Page.loadEventFired" not in browser.events:
            message = browser.receive()
            if message.get("method"):
                browser.events.append(message["method"])
        while not browser.evaluate(f"Boolean({args.until})", session):
            if time.monotonic() > browser.deadline:
                raise TimeoutError(f"never true: {args.until}; state {browser.evaluate(args.expression, session)}")
            time.sleep(0.1)
        for index in range(args.samples):
            if index:
                time.sleep(args.interval)
            value = browser.evaluate(args.expression, session)
            print(json.dumps({"event": "sample", "value": value}), flush=True)
    except Exception as error:  # reported, then a non-zero exit
        print(json.dumps({"event": "error", "error": f"{type(error).__name__}: {error}"}), flush=True)
        print(json.dumps({"event": "exit", "code": 1}), flush=True)
        return 1
    finally:
        browser.close()
    print(json.dumps({"event": "exit", "code": 0}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
