//! taojin-web: from the crawl to text. WARC/WET files become [`warc::Record`]s, HTTP
//! responses inside them are split into status, headers and body ([`http`]), the body's
//! bytes are decoded by the rules browsers use ([`charset`]), and [`extract`] keeps the
//! main text of a page, in Chinese as well as English.
//!
//! Nothing here knows about Arrow or jobs: the pipeline's reader and `extract` stage are
//! thin layers over these functions, so they can be tested and benchmarked alone.

pub mod charset;
pub mod crawl;
pub mod extract;
pub mod html;
pub mod http;
mod text;
pub mod warc;
