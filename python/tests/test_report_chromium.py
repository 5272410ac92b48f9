"""The run's report.html as a person sees it: rendered by headless Chromium (Debian's
`chromium`, which `make test` installs), not read as a string. Every plot has drawn
content and no label overlaps a bar, the funnel on the page is the one in stats.json,
the page fetches nothing (it must open on an air-gapped login node), and a removed
document whose text is HTML, a <script> among it, shows as text and runs nothing.

Chromium is required: without it this fails, unless TAOJIN_CHROMIUM=skip says skip.
TAOJIN_CHROMIUM=/path/to/chromium uses another build."""

import json
import os
import subprocess

import pytest

from conftest import BIN, HERE

CHROMIUM = os.environ.get("TAOJIN_CHROMIUM", "/usr/bin/chromium")
if CHROMIUM == "skip":
    pytest.skip("TAOJIN_CHROMIUM=skip", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402  (after the skip: not needed then)

MODEL = os.path.abspath(os.path.join(HERE, "..", "..", "models", "lid.176.ftz"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update"]

PLANTED_ID = "0000-planted-html"  # sorts before every demo id: first among its reason's examples
# Under the 240 characters the report shows. Each piece would do something if the page
# took it as markup: run a script, fetch from loopback, close the <pre>, add a heading
# or a plot; the entities would show decoded.
PLANTED = ('<script>window.__pwned = 1</script><img src="http://127.0.0.1:9/x.png" '
           'onerror="window.__pwned = 2"></pre><h1>not a heading</h1>'
           '<svg onload="window.__pwned = 3"><rect width="9" height="9"/></svg> '
           '&amp; &lt;b&gt; "quoted" 1 < 2 > 0')
assert len(PLANTED) < 240

JOB = """[job]
name = "chromium"
output = "out"
seed = 42

[[inputs]]
name = "web"
path = "data/*.jsonl.zst"

[[inputs]]
name = "spam"
path = "data/spam/*.jsonl.zst"

[[inputs]]
name = "planted"
path = "planted.jsonl"

[[stages]]
kind = "normalize"

[[stages]]
kind = "langid"
model = "{model}"
keep = ["en", "zh-Hans", "zh-Hant"]

[[stages]]
kind = "perplexity"
models = {{ default = "lm.arpa" }}
mode = "drop"
drop_tail = false
max_ppl = {{ en = 1000, zh = 1000 }}

[[stages]]
kind = "safety"

[[stages]]
kind = "quality"

[[stages]]
kind = "exact_dedup"

[[stages]]
kind = "minhash_dedup"

[[stages]]
kind = "mix"

[[stages.sources]]
name = "en"
where = "lang = 'en'"
weight = 0.4

[[stages.sources]]
name = "zh"
where = "lang IN ('zh-Hans', 'zh-Hant')"
weight = 0.6

[[stages]]
kind = "tokenize"
tokenizer = "tok.json"
train_vocab = 800
seq_len = 128
valid_fraction = 0.05
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The demo job's stages (learned filters included) over the demo data plus the planted page."""
    assert os.path.exists(BIN), f"taojin binary not found at {BIN} (set TAOJIN_BIN, or run `make test`)"
    assert os.path.exists(MODEL), f"{MODEL} missing: `make test` fetches it (make models)"
    d = tmp_path_factory.mktemp("report")
    sh = lambda *a: subprocess.run([BIN, *a], check=True, capture_output=True, cwd=d)  # noqa: E731
    sh("demo-data", "data", "--learned")
    sh("train-lm", "--input", "data/lm-reference/reference.jsonl.zst", "--order", "4", "--out", "lm.arpa")
    (d / "planted.jsonl").write_text(json.dumps(
        {"id": PLANTED_ID, "text": PLANTED, "url": "https://example.org/planted"}) + "\n")
    (d / "job.toml").write_text(JOB.format(model=MODEL))
    sh("run", "job.toml")
    out = d / "out"
    stats = json.loads((out / "stats.json").read_text())
    trail = json.loads(sh("explain", "out", PLANTED_ID, "--json").stdout)[0]["stages"]
    removed = [s for s in trail if not s["kept"]]
    assert removed, f"no stage removed the planted page: {trail}"
    return out, stats, (removed[0]["stage"], removed[0]["reason"])


@pytest.fixture(scope="module")
def chromium():
    assert os.access(CHROMIUM, os.X_OK), (
        f"{CHROMIUM} not found: `make test` installs Debian's chromium (scripts/chromium_install.sh); "
        "TAOJIN_CHROMIUM=skip skips this test")
    return CHROMIUM


@pytest.fixture(scope="module")
def page(chromium, run):
    """The report open in headless Chromium at 1280 wide, with the requests it made and its errors."""
    out = run[0]
    url = (out / "report.html").resolve().as_uri()
    requests, errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")

        # Every request but the page itself is recorded, and aborted: nothing leaves the machine.
        context.route("**/*", lambda r: r.continue_() if r.request.url == url else r.abort())
        pg = context.new_page()
        pg.on("request", lambda r: r.url != url and requests.append(r.url))
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(url, wait_until="load")
        pg.wait_for_timeout(200)  # an onerror or a late fetch would have fired by now
        yield pg, url, requests, errors
        browser.close()


def table_after(pg, heading, tag="h2"):
    """The cells' text of the first <table> after the heading whose text is `heading`."""
    return pg.evaluate("""([heading, tag]) => {
        const h = [...document.querySelectorAll(tag)].find(e => e.textContent === heading);
        if (!h) return null;
        let e = h.nextElementSibling;
        while (e && e.tagName !== 'TABLE') e = e.nextElementSibling;
        return e && [...e.rows].map(r => [...r.cells].map(c => c.innerText));
    }""", [heading, tag])


def bars_after(pg, heading, tag):
    """(label, value text, bar width) per row of the first <svg> after the heading."""
    return pg.evaluate("""([heading, tag]) => {
        const h = [...document.querySelectorAll(tag)].find(e => e.textContent === heading);
        if (!h) return null;
        let e = h.nextElementSibling;
        while (e && e.tagName.toLowerCase() !== 'svg') e = e.nextElementSibling;
        if (!e) return null;
        const l = [...e.querySelectorAll('text.l')], v = [...e.querySelectorAll('text.v')];
        const b = [...e.querySelectorAll('rect')];
        return l.map((t, i) => [t.textContent, v[i].textContent, b[i].getBoundingClientRect().width]);
    }""", [heading, tag])


def n(s):
    return int(s.replace(",", ""))


def test_every_plot_is_drawn_and_nothing_overlaps(page):
    pg = page[0]
    plots = pg.evaluate("""() => {
        const box = e => e.getBoundingClientRect();
        const inter = (a, b) => Math.max(0, Math.min(a.right, b.right) - Math.max(a.left, b.left))
                              * Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top));
        return [...document.querySelectorAll('svg')].map(svg => {
            let h = svg.previousElementSibling;
            while (h && !/^H[23]$/.test(h.tagName)) h = h.previousElementSibling;
            let sec = svg.previousElementSibling;
            while (sec && sec.tagName !== 'H2') sec = sec.previousElementSibling;
            const s = box(svg);
            const shapes = [...svg.querySelectorAll('rect,path,circle,ellipse,line,polyline,polygon')];
            const texts = [...svg.querySelectorAll('text')];
            const drawn = shapes.filter(e => box(e).width > 0 && box(e).height > 0).length;
            const outside = [...shapes, ...texts].filter(e => {
                const b = box(e);
                // 1px of slack: a glyph's side bearing ('j' at x=0 reaches 1px left of its box).
                return b.left < s.left - 1 || b.right > s.right + 1 || b.top < s.top - 1 || b.bottom > s.bottom + 1;
            }).map(e => e.textContent || e.tagName);
            const overlaps = [];
            texts.forEach(t => [...texts, ...shapes].forEach(o => {
                if (o !== t && inter(box(t), box(o)) > 1) overlaps.push([t.textContent, o.textContent || o.tagName]);
            }));
            return {where: (sec ? sec.textContent : '?') + ' / ' + (h ? h.textContent : '?'),
                    w: s.width, h: s.height, shapes: shapes.length, drawn, texts: texts.length,
                    outside, overlaps: overlaps.slice(0, 5)};
        });
    }""")
    sections = {p["where"].split(" / ")[0] for p in plots}
    for want in ["Funnel", "Languages", "Document length (characters, log2 buckets) per language, at language ID",
                 "Language score per language (kept, and removed for a low score)",
                 "Rule thresholds of `quality` (its signals as stored)", "Perplexity per language (all documents the stage scored)",
                 "Safety score per language (worst family's hits per 1,000 characters)",
                 "Near-duplicate clusters", "Mix and shards"]:
        assert want in sections, (want, sections)
    assert len(plots) >= 15, plots
    for p in plots:
        assert p["w"] > 0 and p["h"] > 0, p
        assert p["shapes"] > 0 and p["drawn"] == p["shapes"], p  # every bar drawn, none zero-sized
        assert p["texts"] > 0 and not p["outside"] and not p["overlaps"], p
    # The page fits a 1280-wide window: no table or example runs off to the side.
    assert pg.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_funnel_on_the_page_is_stats_json(page, run):
    pg, (_, stats, _) = page[0], run
    rows = table_after(pg, "Funnel")
    assert rows[0] == ["stage", "kind / reason", "docs in", "docs", "share of in", "bytes in", "bytes"]
    got, cur = {}, None
    for r in rows[1:]:
        if r[0]:
            cur = got[r[0]] = {"kind": r[1], "docs_in": n(r[2]), "docs_kept": n(r[3]), "share": r[4],
                               "bytes_in": n(r[5]), "bytes_kept": n(r[6]), "docs_removed": {},
                               "bytes_removed": {}}
        else:
            reason = r[1].removeprefix("removed: ")
            cur["docs_removed"][reason], cur["bytes_removed"][reason] = n(r[3]), n(r[6])
            assert r[4] == f"{n(r[3]) * 100 / cur['docs_in']:.2f}%", r
    assert list(got) == [s["name"] for s in stats["stages"]]
    for s in stats["stages"]:
        g = got[s["name"]]
        for k in ["kind", "docs_in", "docs_kept", "bytes_in", "bytes_kept", "docs_removed", "bytes_removed"]:
            assert g[k] == s[k], (s["name"], k, g[k], s[k])
        assert g["share"] == f"{s['docs_kept'] * 100 / s['docs_in']:.2f}%", s["name"]
        assert s["docs_in"] == s["docs_kept"] + sum(s["docs_removed"].values()), s["name"]
    # The bars above the table: one per stage, its number, its length to scale.
    bars = bars_after(pg, "Funnel", "h2")
    assert [b[0] for b in bars] == [f"{s['name']} kept" for s in stats["stages"]]
    top = max(s["docs_kept"] for s in stats["stages"])
    for (_, value, width), s in zip(bars, stats["stages"]):
        assert n(value.removesuffix(" docs").removesuffix(" doc")) == s["docs_kept"], (value, s["name"])
        assert abs(width - 420 * s["docs_kept"] / top) < 1.0, (width, s["name"])
    # Languages identified: the langid stage's counters, largest first.
    langid = next(s for s in stats["stages"] if s["kind"] == "langid")
    want = sorted(((k.removeprefix("lang."), v) for k, v in langid["counters"].items() if k.startswith("lang.")),
                  key=lambda kv: -kv[1])[:20]
    langs = bars_after(pg, f"identified by `{langid['name']}` (top 20)", "h3")
    assert sorted((b[0], n(b[1].removesuffix(" docs").removesuffix(" doc"))) for b in langs) == sorted(want)
    assert [n(b[1].removesuffix(" docs").removesuffix(" doc")) for b in langs] == [v for _, v in want]
    # Timings: the same stages and seconds.
    t = table_after(pg, "Timings")
    assert [r[0] for r in t[1:]] == [s["name"] for s in stats["stages"]]
    assert [r[1] for r in t[1:]] == [f"{s['seconds']:.2f}" for s in stats["stages"]]


def test_a_removed_html_page_shows_as_text_and_runs_nothing(page, run):
    pg, (_, _, (stage, reason)) = page[0], run
    assert pg.evaluate("typeof window.__pwned") == "undefined"
    # No element came from the document's text: the only markup is the report's own.
    counts = pg.evaluate("""() => Object.fromEntries(['script', 'img', 'iframe', 'object', 'embed', 'link',
        'style', 'h1', 'svg rect[width="9"]'].map(s => [s, document.querySelectorAll(s).length]))""")
    assert counts == {"script": 0, "img": 0, "iframe": 0, "object": 0, "embed": 0, "link": 0,
                      "style": 1, "h1": 1, 'svg rect[width="9"]': 0}, counts
    ex = pg.evaluate("""(id) => {
        const b = [...document.querySelectorAll('p > b')].find(e => e.textContent === id);
        if (!b) return null;
        let h = b.parentElement.previousElementSibling;
        while (h && h.tagName !== 'H3') h = h.previousElementSibling;
        let sec = h;
        while (sec && sec.tagName !== 'H2') sec = sec.previousElementSibling;
        const pre = b.parentElement.nextElementSibling;
        const r = pre.getBoundingClientRect();
        return {section: sec && sec.textContent, heading: h && h.textContent, tag: pre.tagName,
                text: pre.innerText, w: r.width, h: r.height};
    }""", PLANTED_ID)
    assert ex is not None, f"{PLANTED_ID} is not among the removed examples"
    assert ex["section"] == "Removed examples" and ex["heading"] == f"{stage} — {reason}", ex
    assert ex["tag"] == "PRE" and ex["text"] == PLANTED, ex
    assert ex["w"] > 0 and ex["h"] > 0, ex
    pre = pg.locator("pre", has_text="window.__pwned = 1").first
    pre.scroll_into_view_if_needed()
    assert pre.is_visible()


def test_the_page_fetches_nothing_and_raises_nothing(page):
    _, _, requests, errors = page
    assert requests == [], requests
    assert errors == [], errors
