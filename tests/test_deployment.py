"""The deployment page's commands (docs/deployment.md, its first bash block), run as written on 127.0.0.1: one
`chroma run`, two app processes, an ingest and a removal from a third process; both pages answer from what was
ingested, and stop citing what was removed, within the sync bound. Only /srv/newsqa and the ports are replaced
(by a temporary folder and free ports).

The two processes plus an ingest under load are in tests/test_load.py, on the same deployment (`deployment`)."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_reliability import free_port

pytestmark = pytest.mark.slow
DOC = ROOT / "docs" / "deployment.md"
ARLINGTON_Q = "Where have the Armenian and Azerbaijani diplomats been meeting?"
SYNC_BOUND_S = 10.0     # docs/deployment.md: a change is seen by every process within this
START_TIMEOUT_S = 120


def doc_commands(text: str, block_number: int = 0) -> list[str]:
    """The command lines of one of the page's bash blocks (the first: the servers), comments and blank lines
    dropped."""
    block = re.findall(r"```bash\n(.*?)```", text, re.S)[block_number]
    lines = [re.sub(r"\s+#.*$", "", line).strip() for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def localise(command: str, folder: Path, ports: dict[str, int]) -> str:
    """The command with /srv/newsqa in `folder` and each documented port replaced by a free one."""
    command = command.replace("/srv/newsqa", str(folder))
    return re.sub(r"\b(8000|786\d|6379)\b", lambda m: str(ports.setdefault(m[1], free_port())), command)


def split(command: str) -> tuple[dict[str, str], list[str]]:
    """(leading VAR=value assignments, argv) of a shell command line."""
    words = shlex.split(command)
    env = {}
    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    return env, words


@dataclass
class Deployment:
    """The page's commands as they run: `env` is what `export` lines set, `servers` what keeps running."""

    folder: Path
    commands: list[str]
    ports: dict[str, int] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    servers: list[subprocess.Popen] = field(default_factory=list)

    def run(self, command: str, wait: bool = True, timeout: float = 300) -> subprocess.Popen | str:
        """Run one documented line: `export` updates the environment, chroma/app lines start in the background
        (returned once they answer), others run to completion (their output returned; a failure fails the test)."""
        env, argv = split(localise(command, self.folder, self.ports))
        if argv[0] == "export":
            self.env.update(dict(word.split("=", 1) for word in argv[1:]))
            return ""
        argv = [str(self.folder / w[len("/srv/"):]) if w.startswith("/srv/") else w for w in argv]  # /srv/archive
        argv[0] = str(ROOT / argv[0]) if argv[0].startswith(".venv/") else argv[0]
        full_env = {**os.environ, **self.env, **env}
        if "run" in argv and "chroma" in argv[0] or "app.py" in argv:
            log = open(self.folder / f"server-{len(self.servers)}.log", "w")
            proc = subprocess.Popen(argv, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
            self.servers.append(proc)
            port = int(argv[argv.index("--port") + 1])
            wait_for(f"http://127.0.0.1:{port}/" + ("api/v2/heartbeat" if "chroma" in argv[0] else ""), proc)
            return proc
        if not wait:
            return subprocess.Popen(argv, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True)
        done = subprocess.run(argv, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def app_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}/" for name, port in sorted(self.ports.items()) if name.startswith("786")]

    def stop(self) -> None:
        for proc in reversed(self.servers):
            proc.terminate()
        for proc in self.servers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_for(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{proc.args} exited with {proc.returncode}"
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {START_TIMEOUT_S} s")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """The page's server lines started (chroma run, the export, both app processes); the rest left to the test."""
    commands = doc_commands(DOC.read_text())
    deployed = Deployment(tmp_path_factory.mktemp("srv"), commands)
    try:
        for command in commands:
            if command.startswith("export") or "chroma run" in command or "app.py" in command:
                deployed.run(command)
        assert len(deployed.app_urls()) == 2, deployed.ports
        yield deployed
    finally:
        deployed.stop()


def until(check, bound_s: float = SYNC_BOUND_S):
    """Ask `check()` until it returns something true or `bound_s` (plus the last answer's time) has passed."""
    deadline = time.monotonic() + bound_s
    while True:
        got = check()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.3)


def cites(url: str, question: str, date: str, fact: str) -> bool:
    from gradio_client import Client

    result = Client(url, verbose=False).predict(question, api_name="/answer")
    return any(c["date"] == date and fact in c["text"] for c in result["citations"])


def test_the_deployment_pages_commands_work_as_written(deployment):
    ingest, remove = [c for c in deployment.commands if " -m index " in c]
    assert "--remove" in remove and "seeds/" in ingest

    out = deployment.run(ingest)
    assert "2 added" in out
    for url in deployment.app_urls():   # each page answers from what a third process ingested, without a restart
        assert until(lambda: cites(url, ARLINGTON_Q, "2023-05-04", "Arlington")), url

    out = deployment.run(remove)
    assert "removed    seeds/000_d9919218ce5d4bde.txt" in out and ": 1 articles," in out
    for url in deployment.app_urls():   # ... and stops citing what it removed
        assert until(lambda: not cites(url, ARLINGTON_Q, "2023-05-04", "Arlington")), url


def test_the_ray_commands_work_as_written(deployment):
    """The page's Ray block on the same server: a head and a worker node started with `ray start`, the three ways
    to name a cluster, and `ray stop`. Only the ports and folders are replaced; the install line is what setup
    did (Ray is importable); Ray's token authentication is off (RAY_AUTH_MODE), as for a private network."""
    from index.settings import Settings
    from index.store import make_store
    from tests.test_reliability import assert_consistent, write_corpus

    commands = doc_commands(DOC.read_text(), 1)
    assert any("ray start --head" in c for c in commands) and any("--ray local" in c for c in commands)
    archive = deployment.folder / "archive"
    write_corpus(archive, count=6)
    deployment.env.update({"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"})
    try:
        for command in commands:
            if "pip install" in command:
                __import__("ray")
                continue
            out = deployment.run(command, timeout=600)
            if " --ray " in command:
                assert re.search(r"\d+ added, \d+ replaced, \d+ unchanged, \d+ duplicate, \d+ removed, 0 rejected",
                                 out), out
        store = make_store(Settings(store_dir=deployment.folder / "check-ray", chroma_host="127.0.0.1",
                                    chroma_port=deployment.ports["8000"]))
        try:   # seeds/ (both: the other test removed one) and the archive, each once
            assert store.stats().articles == 2 + 6
            assert_consistent(store, complete=True)
        finally:
            store.close()
    finally:
        subprocess.run([str(ROOT / ".venv/bin/ray"), "stop", "--force"], capture_output=True, timeout=120,
                       env={**os.environ, **deployment.env})
