//! `warc_extract IN.warc[.gz|.zst]... OUT.jsonl [precision|balanced|recall]`: the crawl
//! path of taojin (read WARC, select HTML pages, decode, extract) writing one JSON line
//! per page, single-threaded. `make bench` uses it to measure pages/s per core beside
//! fastwarc + trafilatura / resiliparse without a release build of the whole pipeline.

use std::io::{BufWriter, Write};

use taojin_web::crawl::html_page;
use taojin_web::extract::{Favor, Options, extract};
use taojin_web::warc::{Codec, Item, Limits, WarcReader};

fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn main() -> std::io::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let favor = match args.last().map(String::as_str) {
        Some("precision") => Some(Favor::Precision),
        Some("balanced") => Some(Favor::Balanced),
        Some("recall") => Some(Favor::Recall),
        _ => None,
    };
    if favor.is_some() {
        args.pop();
    }
    let Some(out) = args.pop() else {
        eprintln!("usage: warc_extract IN... OUT.jsonl [precision|balanced|recall]");
        std::process::exit(2);
    };
    let opts = Options {
        favor: favor.unwrap_or_default(),
        ..Options::default()
    };
    let mut w = BufWriter::new(std::fs::File::create(out)?);
    let (mut pages, mut bad) = (0u64, 0u64);
    for path in &args {
        let f = std::fs::File::open(path)?;
        let mut r = WarcReader::new(f, Codec::from_name(path), Limits::default());
        while let Some(item) = r.next_item()? {
            let Item::Record(rec) = item else {
                bad += 1;
                continue;
            };
            let Ok(page) = html_page(&rec, 64 << 20) else {
                continue;
            };
            let url = rec.target_uri();
            let d = taojin_web::charset::decode(&page.payload, page.content_type.as_deref(), url);
            let e = extract(&d.text, &opts);
            pages += 1;
            writeln!(
                w,
                "{{\"id\":{},\"url\":{},\"text\":{}}}",
                json_str(rec.record_id().unwrap_or("")),
                json_str(url.unwrap_or("")),
                json_str(&e.text)
            )?;
        }
    }
    w.flush()?;
    eprintln!("{pages} pages, {bad} bad stretches");
    Ok(())
}
