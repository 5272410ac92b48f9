//! A line reader that never holds more than a cap of one line in memory.

use std::io::{self, BufRead};

/// One line as read by [`CappedLineReader::next_line`].
#[derive(Debug, PartialEq, Eq)]
pub enum CappedLine {
    /// The line is in the buffer (without its `\n`).
    Complete,
    /// The line was longer than the cap: the buffer holds its first `cap` bytes and
    /// `len` is its full length; the rest was skipped.
    TooLong {
        /// Full length of the line in bytes.
        len: u64,
    },
}

/// Reads `\n`-terminated lines, keeping at most `cap` bytes of any one line, so a file
/// without newlines cannot exhaust memory.
pub struct CappedLineReader<R> {
    inner: R,
    cap: usize,
    /// Bytes consumed so far.
    pub consumed: u64,
}

impl<R: BufRead> CappedLineReader<R> {
    /// Wraps a buffered reader.
    pub fn new(inner: R, cap: usize) -> Self {
        CappedLineReader {
            inner,
            cap,
            consumed: 0,
        }
    }

    /// Reads the next line into `buf` (cleared first). `Ok(None)` at end of input.
    pub fn next_line(&mut self, buf: &mut Vec<u8>) -> io::Result<Option<CappedLine>> {
        buf.clear();
        let mut len: u64 = 0;
        let mut any = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            any = true;
            let (chunk, done) = match memchr::memchr(b'\n', available) {
                Some(i) => (&available[..i], Some(i + 1)),
                None => (available, None),
            };
            let room = self.cap.saturating_sub(buf.len());
            buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            len += chunk.len() as u64;
            let used = done.unwrap_or(available.len());
            self.inner.consume(used);
            self.consumed += used as u64;
            if done.is_some() {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        if buf.last() == Some(&b'\r') && len as usize == buf.len() {
            buf.pop();
        }
        if len > self.cap as u64 {
            Ok(Some(CappedLine::TooLong { len }))
        } else {
            Ok(Some(CappedLine::Complete))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lines_and_caps_long_ones() {
        let data = b"short\r\n0123456789abcdef\nlast";
        let mut r = CappedLineReader::new(io::BufReader::with_capacity(4, &data[..]), 8);
        let mut buf = Vec::new();
        assert_eq!(
            r.next_line(&mut buf).expect("io"),
            Some(CappedLine::Complete)
        );
        assert_eq!(buf, b"short");
        assert_eq!(
            r.next_line(&mut buf).expect("io"),
            Some(CappedLine::TooLong { len: 16 })
        );
        assert_eq!(buf, b"01234567");
        assert_eq!(
            r.next_line(&mut buf).expect("io"),
            Some(CappedLine::Complete)
        );
        assert_eq!(buf, b"last");
        assert_eq!(r.next_line(&mut buf).expect("io"), None);
        assert_eq!(r.consumed, data.len() as u64);
    }
}
