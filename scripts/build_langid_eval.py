#!/usr/bin/env python3
"""Build a language-ID evaluation set from real Debian gettext catalogs.

The text was written by translators of Debian/GNU software, not by the taojin
team, so it can be used to measure the language-ID stage fairly.

Output: OUT/langid_eval.jsonl, one record a line:
    {"text": ..., "lang": ..., "kind": "short"|"paragraph", "source": ...}
plus OUT/langid_eval.sources.tsv (package, version, domain, locale, strings used).
Do not commit the output; rebuild it with this script.

Sources: compiled catalogs <root>/usr/share/locale/<locale>/LC_MESSAGES/<domain>.mo,
parsed with the standard library only (struct). Only the domains in DOMAINS
below are read (the iso-codes and xkeyboard-config catalogs are left out: they
are mostly proper names). Where the text comes from:
    (default)       the catalogs installed on this machine (what is there varies by machine);
    --install       first `apt-get update` and `apt-get install -y --no-install-recommends
                    --no-upgrade` the packages in PACKAGES (root needed; packages already
                    installed are left as they are), then read the installed ones;
    --debs CACHE    `apt-get download` the packages in PACKAGES into CACHE and
                    unpack them there with `dpkg-deb -x`; the system is not touched.
                    This is the reproducible mode: the same Debian release gives the same set.

Locales -> labels: zh_CN -> zh-Hans, zh_TW -> zh-Hant, ja, ko, de, fr, es, ru, it,
pt and pt_BR -> pt, vi, ar, th; English (en) comes from the msgid side.

short:     one msgstr (first plural form), whitespace collapsed, 3-80 characters.
           Skipped: format-only strings or strings mostly made of %s-style
           conversions, strings with fewer than 3 letters or under 50% letters,
           msgstr identical to msgid (non-English), strings without the script
           of their language (zh/ja/ko/ru/ar/th), English msgids with non-Latin letters.
paragraph: 5-10 consecutive eligible strings (.mo order) of one catalog, each up
           to 200 characters, joined by " " or "\\n" (hash-chosen).
Sampling:  deterministic. Catalogs are read in sorted order, the candidates of a
           (lang, kind) are grouped by domain, ordered by sha1(seed|text) inside
           each group and taken round-robin across domains (sorted by name) up
           to --cap per (lang, kind), so no single large catalog dominates.
           Texts are unique within a lang.

--baseline MODEL runs the official fastText (PyPI fasttext-predict) top-1 on the
set and prints per-language precision/recall for short and paragraph. Run it with
the Python that has fasttext-predict, e.g.
    /tmp/ftvenv/bin/python scripts/build_langid_eval.py --debs /tmp/langid-debs \
        --out /tmp/langid-eval --baseline models/lid.176.ftz
fastText's single `zh` label counts as correct for both zh-Hans and zh-Hant
records; a `zh` answer on another record is counted as a wrong zh answer
(the "zh*" row gives the merged zh precision). "\\n" is replaced by " " before
predict (fastText's Python predict rejects newlines).

Baseline measured when this script was written (Debian 12 bookworm, --debs,
cap 400, seed taojin-langid-eval-v1, 11200 records, fasttext-predict 0.9.2.4,
lid.176.ftz sha256 8f3472cf...); fastText top-1, precision / recall:

    lang      short (n=400 each)   paragraph (n=400 each)
    en        0.694 / 0.897        0.990 / 0.993
    zh-Hans   1.000 / 0.807        1.000 / 0.988
    zh-Hant   1.000 / 0.780        1.000 / 0.995
    ja        0.810 / 0.980        0.985 / 1.000
    ko        0.990 / 0.983        0.998 / 1.000
    de        0.953 / 0.907        1.000 / 0.995
    fr        0.936 / 0.912        1.000 / 0.998
    es        0.849 / 0.855        0.990 / 0.983
    ru        0.992 / 0.978        0.995 / 1.000
    it        0.952 / 0.895        1.000 / 0.995
    pt        0.937 / 0.738        0.995 / 0.985
    vi        0.995 / 0.945        1.000 / 0.998
    ar        1.000 / 0.958        1.000 / 0.998
    th        0.997 / 0.993        1.000 / 1.000
    zh*       0.986 / 0.794        1.000 / 0.991
    accuracy  0.902                0.995
Short zh misses are mostly `ja` (zh-Hans 36, zh-Hant 53 of 400) and `en`
(18, 16: strings with option names or code words); pt short loses 50 to `es`.
"""
import argparse
import collections
import glob
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import unicodedata
from pathlib import Path

# Debian 12 packages with many translated catalogs -> the gettext domains they ship.
PACKAGES = {
    "adduser": ["adduser"],
    "apt": ["apt"],
    "at-spi2-common": ["at-spi2-core"],
    "bash": ["bash"],
    "binutils-common": ["binutils", "bfd", "gas", "gold", "gprof", "ld", "opcodes"],
    "coreutils": ["coreutils"],
    "diffutils": ["diffutils"],
    "dpkg": ["dpkg"],
    "findutils": ["findutils"],
    "gettext": ["gettext-tools"],
    "gettext-base": ["gettext-runtime"],
    "git": ["git"],
    "gnupg-l10n": ["gnupg2"],
    "grep": ["grep"],
    "gsettings-desktop-schemas": ["gsettings-desktop-schemas"],
    "libapt-pkg6.0": ["libapt-pkg6.0"],
    "libc-l10n": ["libc"],
    "libgdk-pixbuf2.0-common": ["gdk-pixbuf"],
    "libglib2.0-data": ["glib20"],
    "libgnutls30": ["gnutls30"],
    "libgstreamer1.0-0": ["gstreamer-1.0"],
    "libgtk2.0-common": ["gtk20", "gtk20-properties"],
    "libpam-runtime": ["Linux-PAM"],
    "login": ["shadow"],
    "make": ["make"],
    "man-db": ["man-db", "man-db-gnulib"],
    "procps": ["procps-ng"],
    "psmisc": ["psmisc"],
    "python-apt-common": ["python-apt"],
    "sed": ["sed"],
    "shared-mime-info": ["shared-mime-info"],
    "tar": ["tar"],
    "wget": ["wget", "wget-gnulib"],
    "xdg-user-dirs": ["xdg-user-dirs"],
    "xz-utils": ["xz"],
}
DOMAINS = {d: p for p, ds in PACKAGES.items() for d in ds}

LOCALES = {
    "zh_CN": "zh-Hans", "zh_TW": "zh-Hant", "ja": "ja", "ko": "ko",
    "de": "de", "fr": "fr", "es": "es", "ru": "ru", "it": "it",
    "pt": "pt", "pt_BR": "pt", "vi": "vi", "ar": "ar", "th": "th",
}
LANGS = ["en", "zh-Hans", "zh-Hant", "ja", "ko", "de", "fr", "es", "ru", "it", "pt", "vi", "ar", "th"]

SHORT_MIN, SHORT_MAX = 3, 80
PIECE_MAX = 200
PARA_MIN, PARA_MAX = 5, 10

# ---------------------------------------------------------------- .mo parsing

def read_mo(path):
    """Yield (msgctxt|None, msgid, msgid_plural|None, [msgstr forms]) in file order."""
    data = Path(path).read_bytes()
    if len(data) < 28:
        return
    magic = struct.unpack("<I", data[:4])[0]
    if magic == 0x950412DE:
        end = "<"
    elif magic == 0xDE120495:
        end = ">"
    else:
        raise ValueError(f"{path}: not a .mo file")
    _rev, n, off_o, off_t = struct.unpack(end + "4I", data[4:20])
    charset = "utf-8"
    for i in range(n):
        olen, opos = struct.unpack(end + "2I", data[off_o + 8 * i: off_o + 8 * i + 8])
        tlen, tpos = struct.unpack(end + "2I", data[off_t + 8 * i: off_t + 8 * i + 8])
        orig = data[opos:opos + olen]
        trans = data[tpos:tpos + tlen]
        if olen == 0:  # header
            m = re.search(rb"charset=([\w-]+)", trans)
            if m:
                charset = m.group(1).decode("ascii")
            continue
        try:
            o = orig.decode(charset)
            t = trans.decode(charset)
        except (UnicodeDecodeError, LookupError):
            continue
        ctx = None
        if "\x04" in o:
            ctx, o = o.split("\x04", 1)
        parts = o.split("\x00")
        yield ctx, parts[0], (parts[1] if len(parts) > 1 else None), t.split("\x00")

# ---------------------------------------------------------------- cleaning

FMT_RE = re.compile(
    r"%(?:\d+\$)?[-+ #0']*(?:\*|\d+)?(?:\.(?:\*|\d+))?"
    r"(?:hh|h|ll|l|L|q|j|z|t|I64)?[diouxXeEfFgGaAcCsSpn%]"
    r"|%<PRI\w+>"
    r"|\$\{\w+\}|%\{\w+\}|\{\d*\}|\{\w+\}"
)
MNEMONIC_PAREN_RE = re.compile(r"[(（]_[A-Za-z0-9][)）]")
MNEMONIC_RE = re.compile(r"(?<![\w_])_(?=\w)")
WS_RE = re.compile(r"\s+")

SCRIPT_RANGES = {
    "zh-Hans": [(0x4E00, 0x9FFF), (0x3400, 0x4DBF)],
    "zh-Hant": [(0x4E00, 0x9FFF), (0x3400, 0x4DBF)],
    "ja": [(0x3040, 0x30FF)],            # kana required
    "ko": [(0xAC00, 0xD7AF)],
    "ru": [(0x0400, 0x04FF)],
    "ar": [(0x0600, 0x06FF)],
    "th": [(0x0E00, 0x0E7F)],
}


def clean(s):
    s = MNEMONIC_PAREN_RE.sub("", s)
    s = MNEMONIC_RE.sub("", s)
    return WS_RE.sub(" ", s).strip()


def is_letter(c):
    return unicodedata.category(c).startswith("L")


def has_script(s, lang):
    ranges = SCRIPT_RANGES.get(lang)
    if not ranges:
        return True
    return any(lo <= ord(c) <= hi for c in s for lo, hi in ranges)


def eligible(text, lang, msgid_clean, max_len):
    if not (SHORT_MIN <= len(text) <= max_len):
        return False
    nonspace = [c for c in text if not c.isspace()]
    if not nonspace:
        return False
    fmt_chars = sum(len(m.group(0)) for m in FMT_RE.finditer(text))
    if fmt_chars > 0.3 * len(nonspace):
        return False
    rest = FMT_RE.sub("", text)
    letters = [c for c in rest if is_letter(c)]
    if len(letters) < 3 and not (lang.startswith("zh") and len(letters) >= 2):
        return False
    if len(letters) < 0.5 * len([c for c in rest if not c.isspace()]):
        return False
    if lang == "en":
        if any(ord(c) > 0x24F for c in letters):
            return False
    else:
        if text == msgid_clean:
            return False
        if not has_script(text, lang):
            return False
    return True

# ---------------------------------------------------------------- sources

def run(cmd, **kw):
    print("+ " + " ".join(cmd), file=sys.stderr)
    return subprocess.run(cmd, check=True, **kw)


def prepare_debs(cache):
    cache = Path(cache)
    debdir = cache / "debs"
    root = cache / "root"
    debdir.mkdir(parents=True, exist_ok=True)
    have = {p.name.split("_")[0] for p in debdir.glob("*.deb")}
    missing = [p for p in sorted(PACKAGES) if p not in have]
    if missing:
        try:
            run(["apt-get", "download"] + missing, cwd=debdir)
        except subprocess.CalledProcessError:
            sys.exit("apt-get download failed; run `apt-get update` first (as root), "
                     "or use the installed catalogs (no --debs)")
    versions = {}
    for deb in sorted(debdir.glob("*.deb")):
        pkg = deb.name.split("_")[0]
        if pkg not in PACKAGES:
            continue
        versions[pkg] = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], check=True,
                                       capture_output=True, text=True).stdout.strip()
        stamp = root / f".{pkg}.extracted"
        if not stamp.exists():
            root.mkdir(parents=True, exist_ok=True)
            run(["dpkg-deb", "-x", str(deb), str(root)])
            stamp.write_text(versions[pkg] + "\n")
    return root, versions


def install_packages():
    run(["apt-get", "update"])
    run(["apt-get", "install", "-y", "--no-install-recommends", "--no-upgrade"] + sorted(PACKAGES),
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def installed_versions():
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Version}\n"] + sorted(PACKAGES),
                         capture_output=True, text=True).stdout
    return dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)

# ---------------------------------------------------------------- building

def h(seed, *parts):
    return hashlib.sha1("|".join([seed, *map(str, parts)]).encode("utf-8")).hexdigest()


def collect(root, seed):
    """Return candidates[(lang, kind)] -> list of (domain, text, source), and a manifest."""
    locale_dir = Path(root) / "usr/share/locale"
    cands = collections.defaultdict(list)
    manifest = []
    en_msgids = collections.defaultdict(dict)  # domain -> {msgid_clean: None} (ordered)
    for domain in sorted(DOMAINS):
        pkg = DOMAINS[domain]
        for loc in sorted(LOCALES):
            path = locale_dir / loc / "LC_MESSAGES" / f"{domain}.mo"
            if not path.is_file():
                continue
            lang = LOCALES[loc]
            pieces = []  # eligible strings in .mo order, for paragraphs
            n_short = 0
            for idx, (_ctx, msgid, _pl, forms) in enumerate(read_mo(path)):
                mid = clean(msgid)
                en_msgids[domain].setdefault(mid, None)
                t = clean(forms[0]) if forms and forms[0] else ""
                if not t:
                    continue
                src = f"debian:{pkg}/{domain}.mo:{loc}#{idx}"
                if eligible(t, lang, mid, SHORT_MAX):
                    cands[(lang, "short")].append((domain, t, src))
                    n_short += 1
                if eligible(t, lang, mid, PIECE_MAX):
                    pieces.append((idx, t))
            n_para = add_paragraphs(cands, lang, domain, f"debian:{pkg}/{domain}.mo:{loc}", pieces, seed)
            manifest.append((pkg, domain, loc, n_short, n_para))
    for domain in sorted(en_msgids):
        pkg = DOMAINS[domain]
        pieces = []
        for idx, mid in enumerate(sorted(en_msgids[domain])):
            src = f"debian:{pkg}/{domain}.mo:msgid#{idx}"
            if eligible(mid, "en", None, SHORT_MAX):
                cands[("en", "short")].append((domain, mid, src))
            if eligible(mid, "en", None, PIECE_MAX):
                pieces.append((idx, mid))
        n_para = add_paragraphs(cands, "en", domain, f"debian:{pkg}/{domain}.mo:msgid", pieces, seed)
        manifest.append((pkg, domain, "msgid", len(pieces), n_para))
    return cands, manifest


def add_paragraphs(cands, lang, domain, src_prefix, pieces, seed):
    i, n_out = 0, 0
    while i < len(pieces):
        n = PARA_MIN + int(h(seed, "len", src_prefix, i), 16) % (PARA_MAX - PARA_MIN + 1)
        chunk = pieces[i:i + n]
        if len(chunk) < PARA_MIN:
            break
        sep = "\n" if int(h(seed, "sep", src_prefix, i), 16) % 2 else " "
        text = sep.join(t for _, t in chunk)
        cands[(lang, "paragraph")].append(
            (domain, text, f"{src_prefix}#{chunk[0][0]}-{chunk[-1][0]}"))
        n_out += 1
        i += n
    return n_out


def select(cands, cap, seed):
    out = []
    for lang in LANGS:
        seen = set()
        for kind in ("short", "paragraph"):
            groups = collections.defaultdict(list)
            for domain, text, src in cands.get((lang, kind), []):
                groups[domain].append((h(seed, lang, kind, text), text, src))
            queues = [sorted(groups[d]) for d in sorted(groups)]
            pos = [0] * len(queues)
            taken = 0
            while taken < cap and any(p < len(q) for p, q in zip(pos, queues)):
                for qi, q in enumerate(queues):
                    if taken >= cap:
                        break
                    while pos[qi] < len(q):
                        _, text, src = q[pos[qi]]
                        pos[qi] += 1
                        if text in seen:
                            continue
                        seen.add(text)
                        out.append({"text": text, "lang": lang, "kind": kind, "source": src})
                        taken += 1
                        break
    return out

# ---------------------------------------------------------------- baseline

def baseline(records, model_path):
    try:
        import fasttext
    except ImportError:
        sys.exit("--baseline needs fasttext-predict (e.g. /tmp/ftvenv/bin/python)")
    model = fasttext.load_model(str(model_path))
    lines = []
    for kind in ("short", "paragraph"):
        recs = [r for r in records if r["kind"] == kind]
        preds = []
        for r in recs:
            labels, _ = model.predict(r["text"].replace("\n", " "), k=1)
            preds.append(labels[0].replace("__label__", "") if labels else "")
        tp = collections.Counter()
        support = collections.Counter()
        predicted = collections.Counter()
        wrong = collections.defaultdict(collections.Counter)
        zh_tp = zh_pred = zh_sup = 0
        for r, p in zip(recs, preds):
            lang = r["lang"]
            support[lang] += 1
            is_zh = lang.startswith("zh")
            if p == "zh":
                mapped = lang if is_zh else "zh*"
                zh_pred += 1
            else:
                mapped = p
            predicted[mapped] += 1
            if is_zh:
                zh_sup += 1
                zh_tp += p == "zh"
            if mapped == lang:
                tp[lang] += 1
            else:
                wrong[lang][p] += 1
        lines.append(f"== {kind}: {len(recs)} records, fastText top-1 ==")
        lines.append(f"{'lang':8s} {'n':>5s} {'prec':>6s} {'recall':>6s}  top confusions (fastText label: count)")
        for lang in LANGS:
            if not support[lang]:
                continue
            # precision: zh-Hans/zh-Hant share fastText's zh; non-zh records labelled zh count
            # in the merged zh* row only
            prec = tp[lang] / predicted[lang] if predicted[lang] else float("nan")
            rec = tp[lang] / support[lang]
            conf = ", ".join(f"{k or '-'}: {v}" for k, v in wrong[lang].most_common(4))
            lines.append(f"{lang:8s} {support[lang]:5d} {prec:6.3f} {rec:6.3f}  {conf}")
        if zh_sup:
            lines.append(f"{'zh*':8s} {zh_sup:5d} {zh_tp / zh_pred if zh_pred else float('nan'):6.3f} "
                         f"{zh_tp / zh_sup:6.3f}  (zh-Hans+zh-Hant vs every `zh` answer)")
        macro = [tp[l] / support[l] for l in LANGS if support[l]]
        lines.append(f"accuracy {sum(tp.values()) / max(1, len(recs)):.3f}, "
                     f"macro recall {sum(macro) / max(1, len(macro)):.3f}")
        lines.append("")
    return "\n".join(lines)

# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path, help="output directory")
    ap.add_argument("--cap", type=int, default=400, help="records per (lang, kind); default 400")
    ap.add_argument("--seed", default="taojin-langid-eval-v1")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--install", action="store_true",
                   help="apt-get update && apt-get install PACKAGES first (root)")
    g.add_argument("--debs", type=Path, metavar="CACHE",
                   help="apt-get download PACKAGES into CACHE, unpack there, read from there")
    ap.add_argument("--root", type=Path, default=Path("/"),
                    help="read <root>/usr/share/locale (ignored with --debs)")
    ap.add_argument("--baseline", type=Path, metavar="MODEL",
                    help="print fastText top-1 precision/recall using this lid.176.ftz")
    args = ap.parse_args()

    if args.install:
        install_packages()
    if args.debs:
        root, versions = prepare_debs(args.debs)
    else:
        root = args.root
        versions = installed_versions() if root == Path("/") else {}

    cands, manifest = collect(root, args.seed)
    records = select(cands, args.cap, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "langid_eval.jsonl", "w", encoding="utf-8", newline="\n") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(args.out / "langid_eval.sources.tsv", "w", encoding="utf-8") as f:
        f.write("package\tversion\tdomain\tlocale\teligible_short\tparagraphs\n")
        for pkg, domain, loc, ns, npara in manifest:
            f.write(f"{pkg}\t{versions.get(pkg, '?')}\t{domain}\t{loc}\t{ns}\t{npara}\n")
    absent = sorted(p for p in PACKAGES if not any(m[0] == p for m in manifest))
    if absent:
        print(f"note: no catalogs found for packages: {' '.join(absent)} "
              f"(use --debs CACHE or --install for the full set)", file=sys.stderr)

    counts = collections.Counter((r["lang"], r["kind"]) for r in records)
    avail = {k: len(v) for k, v in cands.items()}
    print(f"wrote {len(records)} records to {args.out / 'langid_eval.jsonl'} (cap {args.cap}, seed {args.seed})")
    print(f"{'lang':8s} {'short':>6s} {'para':>6s}   candidates short/para")
    for lang in LANGS:
        print(f"{lang:8s} {counts[(lang, 'short')]:6d} {counts[(lang, 'paragraph')]:6d}   "
              f"{avail.get((lang, 'short'), 0)}/{avail.get((lang, 'paragraph'), 0)}")
    if args.baseline:
        print()
        print(baseline(records, args.baseline))


if __name__ == "__main__":
    main()
