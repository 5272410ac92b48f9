"""taojin reads WARC files written by warcio (the reference Python WARC library) the way
warcio reads them back: the same records, ids, URLs and byte offsets, with HTTP chunked
transfer encoding and gzip content encoding undone."""

import gzip
import io
import os
import subprocess

import pyarrow.parquet as pq
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from conftest import BIN

ARTICLE = "<p>{0}: the main text of this page is a paragraph that a reader came for, long enough to count as prose.</p>" * 2


def chunked(data):
    return b"".join(b"%x\r\n%s\r\n" % (len(data[i : i + 50]), data[i : i + 50]) for i in range(0, len(data), 50)) + b"0\r\n\r\n"


def write_warc(path):
    pages = {}
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)
        w.write_record(w.create_warcinfo_record("x.warc.gz", {"software": "warcio"}))
        for i in range(6):
            url = f"http://example.com/{i}"
            html = f"<html><head><title>T{i}</title></head><body><nav><a href=/>Home</a></nav>{ARTICLE.format(f'Page {i}')}</body></html>".encode()
            headers = [("Content-Type", "text/html; charset=utf-8")]
            body = html
            if i == 1:
                headers.append(("Transfer-Encoding", "chunked"))
                body = chunked(html)
            if i == 2:
                headers.append(("Content-Encoding", "gzip"))
                body = gzip.compress(html)
            http = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n"), warc_content_type="application/http; msgtype=request"))
            rec = w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http)
            w.write_record(rec)
            pages[rec.rec_headers.get_header("WARC-Record-ID").strip("<>")] = (url, f"Page {i}")
        img = StatusAndHeaders("200 OK", [("Content-Type", "image/png")], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record("http://example.com/a.png", "response", payload=io.BytesIO(b"\x89PNG\r\n"), http_headers=img))
    return pages


def test_taojin_reads_what_warcio_writes(tmp_path):
    assert os.path.exists(BIN), f"taojin binary not found at {BIN}"
    warc = tmp_path / "data" / "crawl.warc.gz"
    warc.parent.mkdir()
    pages = write_warc(warc)
    offsets = {}
    with open(warc, "rb") as f:
        it = ArchiveIterator(f)
        for rec in it:
            if rec.rec_type == "response":
                offsets[rec.rec_headers.get_header("WARC-Record-ID").strip("<>")] = it.get_record_offset()
    (tmp_path / "job.toml").write_text(
        '[job]\nname = "t"\noutput = "out"\n\n[[inputs]]\nname = "cc"\npath = "data/*.warc.gz"\n\n[[stages]]\nkind = "extract"\n'
    )
    subprocess.run([BIN, "run", str(tmp_path / "job.toml")], check=True, capture_output=True)
    t = pq.read_table(tmp_path / "out" / "extract").to_pylist()
    assert {r["id"] for r in t} == set(pages)
    for r in t:
        url, marker = pages[r["id"]]
        assert r["url"] == url
        assert r["warc.offset"] == offsets[r["id"]]
        assert r["text"].startswith(marker) and "Home" not in r["text"], r["text"]
        assert r["title"].startswith("T")
