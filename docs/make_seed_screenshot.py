"""Make ``docs/seed-result.png``: the seed article's result as a notebook shows it.

The result is real engine output, made reproducible: the hand-checked gold
fixture of the seed article is replayed through
:class:`llm_extract.testing.ChatServer`, so the real openai client,
grounding and :mod:`llm_extract.display` all run, and no model or network
is needed. Headless Chromium (Debian's ``chromium``) takes the picture::

    python docs/make_seed_screenshot.py            # writes docs/seed-result.png
    python docs/make_seed_screenshot.py --html /tmp/seed.html
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from llm_extract import Extractor
from llm_extract.fixtures import load_fixture
from llm_extract.testing import ChatServer, Reply

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "seeds" / "enab-baladi-558021.ar.gold.json"
WIDTH = 1240


def chromium(*args: str, profile: Path) -> str:
    """Run headless Chromium once, isolated and offline; return its stdout."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if exe is None:
        sys.exit("chromium not found: apt-get install -y chromium fonts-noto-core")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
    ]
    done = subprocess.run([exe, *flags, *args], capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "seed-result.png")
    parser.add_argument("--html", type=Path, help="also keep the rendered page here")
    args = parser.parse_args()

    fixture = load_fixture(FIXTURE)
    answer = fixture.as_answer()
    with tempfile.TemporaryDirectory() as tmp, ChatServer(lambda _: Reply.records(answer)) as server:
        work = Path(tmp)
        config = work / "llm_extract.toml"
        config.write_text(
            'default_backend = "gold-replay"\n[backends.gold-replay]\nkind = "openai-compatible"\n'
            f'model = "gold-replay"\nbase_url = "{server.url}"\n',
            encoding="utf-8",
        )
        with Extractor.from_config(config, cache=False) as extractor:
            result = extractor.extract(fixture.document)

        page = result.to_html(full_page=True)
        if args.html:
            args.html.write_text(page, encoding="utf-8")
        # measure the page height in a throw-away copy, so the picture has no blank tail
        probe = work / "probe.html"
        measure = "<script>document.title = 'h=' + document.documentElement.scrollHeight</script>"
        probe.write_text(page.replace("</body>", measure + "</body>"), encoding="utf-8")
        dom = chromium(f"--window-size={WIDTH},800", "--dump-dom", probe.as_uri(), profile=work / "profile")
        found = re.search(r"<title>h=(\d+)</title>", dom)
        height = int(found.group(1)) if found else 1600
        shown = work / "seed.html"
        shown.write_text(page, encoding="utf-8")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        chromium(
            f"--window-size={WIDTH},{height}",
            f"--screenshot={args.out.resolve()}",
            shown.as_uri(),
            profile=work / "profile",
        )
    print(args.out)


if __name__ == "__main__":
    main()
