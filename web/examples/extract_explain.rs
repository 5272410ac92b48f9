//! `extract_explain PAGE.html [precision|balanced|recall]`: every block of a page with its
//! decision (kept or not, link density, length, prose score), to see why text was lost.

use taojin_web::extract::{Favor, Options, explain};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: extract_explain PAGE.html [precision|balanced|recall]");
        std::process::exit(2);
    };
    let favor = match args.get(1).map(String::as_str) {
        Some("precision") => Favor::Precision,
        Some("recall") => Favor::Recall,
        _ => Favor::Balanced,
    };
    let bytes = std::fs::read(path)?;
    let page = taojin_web::charset::decode(&bytes, None, None);
    for b in explain(
        &page.text,
        &Options {
            favor,
            ..Options::default()
        },
    ) {
        let text: String = b
            .text
            .chars()
            .take(70)
            .collect::<String>()
            .replace('\n', "⏎");
        println!(
            "{} {:<7} neg={} ld={:.2} units={:<5} prose={:.2} {text}",
            if b.kept { "KEEP" } else { "drop" },
            b.kind,
            u8::from(b.marked_boilerplate),
            b.link_density,
            b.units,
            b.prose
        );
    }
    Ok(())
}
