#!/usr/bin/env python3
"""Main-text extraction beside trafilatura and resiliparse: quality (shingle F1 per language)
and speed (pages/s on one core for read WARC + decode + extract + write), in one run.

Evaluation sets, both built here with known truth:
  * generated: pages in 6 site layouts (portal, blog, forum table layout, Q&A, docs, shop),
    half of them with meaningless class names, whose main text is real prose taken from the
    corpus (Debian docs and manual pages, English and Chinese); boilerplate is navigation,
    sidebars of "hot" links and gambling spam, comment threads, related-article lists,
    share bars, cookie banners, footers. Chinese pages are half GBK (declared in <meta> or
    not at all). Truth = the title heading and the paragraphs.
  * real: ../shared/corpus/html-real.jsonl.zst (Debian HTML docs), scored against the
    corpus' own text of the same id. That reference is the whole page's text (navigation
    included), so this F1 measures agreement with a full-text extraction, not main text.
Every page is written into one gzip-per-record WARC with warcio; taojin (the crawl path of
taojin-web, `web/examples/warc_extract.rs`, release) and the peers (fastwarc +
trafilatura default / favor_precision, fastwarc + resiliparse main_content) read that WARC.
F1: multiset of 3-unit shingles (a unit is a CJK character or a Latin word), per page,
averaged. Timings: median of --repeat runs, one process, one thread each.
"""

import argparse
import collections
import io
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time

UNIT = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]|[^\W_]+", re.UNICODE)


def shingles(text, n=3):
    u = [t.lower() for t in UNIT.findall(text or "")]
    if len(u) < n:
        return collections.Counter([tuple(u)] if u else [])
    return collections.Counter(tuple(u[i : i + n]) for i in range(len(u) - n + 1))


def f1(pred, truth):
    a, b = shingles(pred), shingles(truth)
    if not a and not b:
        return 1.0
    common = sum((a & b).values())
    if common == 0:
        return 0.0
    p, r = common / sum(a.values()), common / sum(b.values())
    return 2 * p * r / (p + r)


def cjk_ratio(s):
    s = re.sub(r"\s", "", s)
    return sum(1 for c in s if "\u4e00" <= c <= "\u9fff") / max(1, len(s))


def read_zst_jsonl(path):
    import zstandard

    with open(path, "rb") as f:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")
        for line in text:
            yield json.loads(line)


def prose_docs(corpus, limit):
    """(lang, title, paragraphs) from docs whose paragraphs read like prose."""
    out = {"en": [], "zh": []}
    for d in read_zst_jsonl(corpus):
        kind = d.get("meta", {}).get("kind")
        lang = d.get("meta", {}).get("lang", "")
        if kind not in ("html-doc", "manpage"):
            continue
        zh = lang.startswith("zh")
        if zh and cjk_ratio(d["text"]) < 0.3:
            continue
        if not zh and lang != "en":
            continue
        paras = []
        for p in re.split(r"\n\s*\n", d["text"]):
            p = " ".join(p.split()) if not zh else re.sub(r"\s+", lambda m: "" if "\n" in m.group() else " ", p.strip())
            ok = (cjk_ratio(p) > 0.4 and len(p) >= 25) if zh else (len(p) >= 80 and p.count(" ") >= 10)
            if ok and len(p) < 1500:
                paras.append(p)
        if len(paras) >= 3:
            key = "zh" if zh else "en"
            if len(out[key]) < limit:
                out[key].append((d["id"], paras))
        if all(len(v) >= limit for v in out.values()):
            break
    return out


ZH_NAV = ["首页", "新闻", "国内", "国际", "财经", "科技", "体育", "娱乐", "汽车", "房产", "教育", "论坛", "博客"]
EN_NAV = ["Home", "News", "World", "Business", "Tech", "Science", "Sport", "Culture", "Opinion", "Travel", "Video"]
ZH_SIDE = ["澳门葡京娱乐城注册送彩金", "真人百家乐官网在线开户", "今日热点：明星离婚内幕曝光", "新人专享礼包限时领取", "最新楼盘房价排行榜", "点击查看更多精彩内容"]
EN_SIDE = ["Best online casino bonus codes", "Ten tricks doctors hate", "Trending: celebrity splits", "Get 50% off today only", "Most read this week", "Sign up for our newsletter"]
ZH_COMMENTS = ["这篇文章写得很好，学到了很多东西，感谢作者的分享！", "楼主说得对，我也遇到过同样的问题，后来重装就好了。", "顶一个，期待后续更新。"]
EN_COMMENTS = ["Great write-up, thanks for sharing this with us, it helped me a lot.", "I had the same problem last week and this fixed it for me.", "Looking forward to the next part!"]


def cls(rng, semantic, name):
    return name if semantic else "c" + "".join(rng.choice("abcdef0123456789") for _ in range(6))


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def gen_page(rng, lang, title, paras, layout, semantic):
    zh = lang == "zh"
    nav = "".join(f'<li><a href="/c/{i}">{t}</a></li>' for i, t in enumerate(rng.sample(ZH_NAV if zh else EN_NAV, 8)))
    side = "".join(f'<li><a href="/s/{i}">{t}</a></li>' for i, t in enumerate(rng.sample(ZH_SIDE if zh else EN_SIDE, 5)))
    comments = "".join(f'<div class="{cls(rng, semantic, "comment")}"><a href="/u/{i}">user{i}</a><p>{c}</p></div>' for i, c in enumerate(ZH_COMMENTS if zh else EN_COMMENTS))
    related = "".join(f'<li><a href="/r/{i}">{esc(p[:24])}</a></li>' for i, p in enumerate(rng.sample(paras, min(3, len(paras)))))
    foot = "版权所有 © 2024 某某网 京ICP备05012345号 联系我们 | 关于我们" if zh else "© 2024 Example Media Group. All rights reserved. Privacy | Terms | Contact"
    cookie = "本站使用Cookie来改善浏览体验，继续浏览即表示同意。" if zh else "This site uses cookies to improve your experience. By continuing you accept our use of cookies."
    share = "分享到：微博 微信 QQ空间" if zh else "Share: Facebook Twitter Email"
    crumbs = f'<a href="/">{"首页" if zh else "Home"}</a> &gt; <a href="/c">{"新闻" if zh else "News"}</a> &gt; {esc(title[:10])}'
    body = "".join(f"<p>{esc(p)}</p>\n" for p in paras)
    c = lambda n: cls(rng, semantic, n)
    if layout == 0:  # portal
        return f'<div class="{c("header")}"><ul class="{c("nav")}">{nav}</ul></div><div class="{c("breadcrumb")}">{crumbs}</div><div class="{c("main")}"><div class="{c("article")}"><h1>{esc(title)}</h1><div class="{c("share")}">{share}</div>{body}</div><div class="{c("related")}"><h3>{"相关阅读" if zh else "Related"}</h3><ul>{related}</ul></div></div><div class="{c("sidebar")}"><h3>{"热门推荐" if zh else "Popular"}</h3><ul>{side}</ul></div><div class="{c("footer")}">{foot}</div>'
    if layout == 1:  # blog with HTML5 tags
        return f'<header><nav><ul>{nav}</ul></nav></header><main><article><h1>{esc(title)}</h1><p class="{c("meta")}">2024-03-01 · 5 min</p>{body}</article><section class="{c("comments")}"><h2>{"评论" if zh else "Comments"}</h2>{comments}</section></main><aside><ul>{side}</ul></aside><div class="{c("cookie")}">{cookie}</div><footer>{foot}</footer>'
    if layout == 2:  # forum, table layout
        return f'<table width="100%"><tr><td colspan="2">{" | ".join(f"<a href=/f/{i}>{t}</a>" for i, t in enumerate(ZH_NAV if zh else EN_NAV))}</td></tr><tr><td width="180" valign="top"><ul>{side}</ul></td><td valign="top"><table><tr><td class="{c("postauthor")}"><a href="/u/1">admin</a><br>{"帖子 1024" if zh else "Posts 1024"}</td><td class="{c("postcontent")}"><h2>{esc(title)}</h2>{body}</td></tr></table>{comments}</td></tr><tr><td colspan="2">{foot}</td></tr></table>'
    if layout == 3:  # Q&A
        return f'<div class="{c("topbar")}">{nav}</div><div class="{c("question")}"><h1>{esc(title)}</h1></div><div class="{c("answer")}">{body}<div class="{c("vote")}">{"赞同 128 · 评论 12" if zh else "Upvote 128 · 12 comments"}</div></div><div class="{c("answer")}">{comments}</div><div class="{c("side")}"><ul>{side}</ul></div><div class="{c("foot")}">{foot}</div>'
    if layout == 4:  # docs
        toc = "".join(f'<li><a href="#s{i}">{esc(p[:16])}</a></li>' for i, p in enumerate(paras[:6]))
        return f'<div class="{c("navbar")}">{nav}</div><div class="{c("toc")}"><ul>{toc}</ul></div><div role="main"><h1>{esc(title)}</h1>{body}</div><div class="{c("footer")}">{foot}</div>'
    # shop / product page
    return f'<div class="{c("header")}">{nav}<form><input name=q><button>{"搜索" if zh else "Search"}</button></form></div><div class="{c("product")}"><h1>{esc(title)}</h1><div class="{c("price")}">¥ 199.00</div><div class="{c("desc")}">{body}</div></div><div class="{c("recommend")}"><ul>{side}</ul></div><div class="{c("cookie")}">{cookie}</div><div class="{c("footer")}">{foot}</div>'


def build_generated(rng, docs, n_pages):
    pages = []
    for i in range(n_pages):
        lang = "zh" if i % 2 else "en"
        doc_id, paras = rng.choice(docs[lang])
        start = rng.randrange(0, max(1, len(paras) - 3))
        chosen = paras[start : start + rng.randint(3, 8)]
        title = (chosen[0][:18] if lang == "zh" else " ".join(chosen[0].split()[:8])).strip()
        layout = (i // 2) % 6
        semantic = rng.random() < 0.5
        inner = gen_page(rng, lang, title, chosen, layout, semantic)
        charset = "utf-8"
        meta = ""
        if lang == "zh" and rng.random() < 0.5:
            charset = "gbk"
            meta = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">' if rng.random() < 0.5 else ""
        html = f"<!DOCTYPE html><html><head>{meta}<title>{esc(title)}</title><script>var _hmt=[];</script><style>body{{}}</style></head><body>{inner}<script>document.write('<p>ad</p>')</script></body></html>"
        payload = html.encode("gbk", errors="xmlcharrefreplace") if charset == "gbk" else html.encode()
        ct = "text/html" if charset == "gbk" else "text/html; charset=utf-8"
        pages.append({"set": "generated", "lang": lang, "url": f"http://site{layout}.example/{i}.html", "payload": payload, "content_type": ct, "truth": "\n\n".join([title] + chosen)})
    return pages


def build_real(html_path, corpus_path, limit):
    refs = {}
    want = {}
    for d in read_zst_jsonl(html_path):
        want[d["id"]] = d
        if len(want) >= limit:
            break
    for d in read_zst_jsonl(corpus_path):
        if d["id"] in want:
            refs[d["id"]] = d["text"]
    pages = []
    for i, (k, d) in enumerate(want.items()):
        if k not in refs:
            continue
        lang = "zh" if d.get("lang", "").startswith("zh") and cjk_ratio(refs[k]) > 0.2 else "en"
        pages.append({"set": "real", "lang": lang, "url": f"http://docs.example/{i}.html", "payload": d["html"].encode(), "content_type": "text/html; charset=utf-8", "truth": refs[k]})
    return pages


def write_warc(pages, path):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)
        for i, p in enumerate(pages):
            headers = StatusAndHeaders("200 OK", [("Content-Type", p["content_type"])], protocol="HTTP/1.1")
            rec = w.create_warc_record(p["url"], "response", payload=io.BytesIO(p["payload"]), http_headers=headers)
            p["id"] = rec.rec_headers.get_header("WARC-Record-ID").strip("<>")
            w.write_record(rec)


PEER = r'''
import json, sys, time
from fastwarc.warc import ArchiveIterator, WarcRecordType
tool, warc, out = sys.argv[1], sys.argv[2], sys.argv[3]
if tool.startswith("trafilatura"):
    import trafilatura
    precision = tool.endswith("precision")
    def ex(b):
        return trafilatura.extract(b, favor_precision=precision, include_comments=False) or ""
else:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree
    from resiliparse.parse.encoding import detect_encoding
    def ex(b):
        return extract_plain_text(HTMLTree.parse_from_bytes(b, detect_encoding(b)), main_content=True)
t0 = time.perf_counter()
with open(warc, "rb") as f, open(out, "w") as o:
    for rec in ArchiveIterator(f, record_types=WarcRecordType.response):
        rid = rec.headers.get("WARC-Record-ID", "").strip("<>")
        body = rec.reader.read()
        payload = body.split(b"\r\n\r\n", 1)[1] if body.startswith(b"HTTP/") else body
        o.write(json.dumps({"id": rid, "text": ex(payload)}, ensure_ascii=False) + "\n")
print(time.perf_counter() - t0)
'''


def run_timed(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--extractor", required=True, help="the warc_extract example binary (release)")
    ap.add_argument("--python", required=True, help="python with trafilatura, resiliparse, fastwarc, warcio")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--html", required=True)
    ap.add_argument("--pages", type=int, default=600)
    ap.add_argument("--real", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--work", default=None)
    ap.add_argument("--taojin", default=None, help="also time the whole pipeline (release `taojin`): a job of one extract stage writing Parquet, --threads 1")
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="taojin-web-bench-")
    os.makedirs(work, exist_ok=True)
    rng = random.Random(7)
    docs = prose_docs(args.corpus, 400)
    pages = build_generated(rng, docs, args.pages) + build_real(args.html, args.corpus, args.real)
    warc = os.path.join(work, "eval.warc.gz")
    write_warc(pages, warc)
    mb = sum(len(p["payload"]) for p in pages) / 1e6
    peer_py = os.path.join(work, "peer.py")
    with open(peer_py, "w") as f:
        f.write(PEER)
    tools = {
        "taojin (balanced)": lambda o: [args.extractor, warc, o, "balanced"],
        "taojin (precision)": lambda o: [args.extractor, warc, o, "precision"],
        "trafilatura": lambda o: [args.python, peer_py, "trafilatura", warc, o],
        "trafilatura (favor_precision)": lambda o: [args.python, peer_py, "trafilatura-precision", warc, o],
        "resiliparse (main_content)": lambda o: [args.python, peer_py, "resiliparse", warc, o],
    }
    if args.taojin:
        job = os.path.join(work, "extract.toml")
        with open(job, "w") as f:
            f.write(f'[job]\nname = "bench"\noutput = "{work}/pipeline-out"\non_bad_record = "skip"\n\n'
                    f'[[inputs]]\nname = "cc"\npath = "{warc}"\n\n[[stages]]\nkind = "extract"\n')
        tools["taojin run (pipeline, Parquet)"] = lambda o: ["sh", "-c", f'rm -rf "{work}/pipeline-out" && "{args.taojin}" run --threads 1 "{job}" && touch "{o}"']
    results = {}
    for name, cmd in tools.items():
        out = os.path.join(work, re.sub(r"\W+", "_", name) + ".jsonl")
        secs = statistics.median(run_timed(cmd(out)) for _ in range(args.repeat))
        got = {}
        if name.startswith("taojin run"):
            import pyarrow.parquet as pq

            import glob

            for part in sorted(glob.glob(os.path.join(work, "pipeline-out", "extract", "part-*.parquet"))):
                for r in pq.read_table(part, columns=["id", "text"]).to_pylist():
                    got[r["id"]] = r["text"]
        else:
            with open(out) as f:
                for line in f:
                    d = json.loads(line)
                    got[d["id"]] = d["text"]
        scores = collections.defaultdict(list)
        for p in pages:
            scores[(p["set"], p["lang"])].append(f1(got.get(p["id"], ""), p["truth"]))
        results[name] = {"seconds": secs, "pages_per_s": len(pages) / secs, "f1": {f"{s}/{l}": statistics.mean(v) for (s, l), v in sorted(scores.items())}}
    keys = sorted({k for r in results.values() for k in r["f1"]})
    counts = collections.Counter(f"{p['set']}/{p['lang']}" for p in pages)
    print(f"\nweb extraction: {len(pages)} pages, {mb:.1f} MB of HTML, one core each (median of {args.repeat})")
    print(f"{'tool':<32}" + "".join(f"{k + ' F1':>16}" for k in keys) + f"{'pages/s':>10}{'vs trafilatura':>16}")
    print(f"{'(pages)':<32}" + "".join(f"{counts[k]:>16}" for k in keys))
    base = results["trafilatura"]["pages_per_s"]
    for name, r in results.items():
        print(f"{name:<32}" + "".join(f"{r['f1'][k]:>16.3f}" for k in keys) + f"{r['pages_per_s']:>10.0f}{r['pages_per_s'] / base:>15.1f}x")
    with open(os.path.join(work, "truth.jsonl"), "w") as f:
        for p in pages:
            f.write(json.dumps({"id": p["id"], "set": p["set"], "lang": p["lang"], "url": p["url"], "truth": p["truth"]}, ensure_ascii=False) + "\n")
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(f"(details: {work}/results.json; 'real' F1 is against a full-page reference, see the docstring)")


if __name__ == "__main__":
    main()
