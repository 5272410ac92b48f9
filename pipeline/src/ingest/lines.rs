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
    /// Bytes of the inner buffer lent out by the last [`Self::next_line`], consumed on
    /// the next call.
    lent: usize,
}

impl<R: BufRead> CappedLineReader<R> {
    /// Wraps a buffered reader.
    pub fn new(inner: R, cap: usize) -> Self {
        CappedLineReader {
            inner,
            cap,
            consumed: 0,
            lent: 0,
        }
    }

    /// The next line (without its `\n`, nor a `\r` before it): borrowed from the
    /// reader's buffer when it lies there whole (the common case: no copy), else
    /// gathered into `buf`. `Ok(None)` at end of input.
    pub fn next_line<'a>(
        &'a mut self,
        buf: &'a mut Vec<u8>,
    ) -> io::Result<Option<(CappedLine, &'a [u8])>> {
        self.inner.consume(std::mem::take(&mut self.lent));
        buf.clear();
        let end = loop {
            match self.inner.fill_buf() {
                Ok(b) => break memchr::memchr(b'\n', b).filter(|&i| i <= self.cap),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        if let Some(i) = end {
            self.lent = i + 1;
            self.consumed += (i + 1) as u64;
            // The buffer is unchanged until consumed: this second look returns it as is.
            let line = &self.inner.fill_buf()?[..i];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            return Ok(Some((CappedLine::Complete, line)));
        }
        let status = self.gather(buf)?;
        Ok(status.map(|s| (s, buf.as_slice())))
    }

    /// Reads the next line into `buf` (cleared first), across buffer refills.
    fn gather(&mut self, buf: &mut Vec<u8>) -> io::Result<Option<CappedLine>> {
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
        let mut next = |r: &mut CappedLineReader<_>| {
            r.next_line(&mut buf)
                .expect("io")
                .map(|(s, l)| (s, l.to_vec()))
        };
        assert_eq!(
            next(&mut r),
            Some((CappedLine::Complete, b"short".to_vec()))
        );
        assert_eq!(
            next(&mut r),
            Some((CappedLine::TooLong { len: 16 }, b"01234567".to_vec()))
        );
        assert_eq!(next(&mut r), Some((CappedLine::Complete, b"last".to_vec())));
        assert_eq!(next(&mut r), None);
        assert_eq!(r.consumed, data.len() as u64);
    }

    /// Lines lent from the buffer and lines gathered across refills read the same.
    #[test]
    fn borrowed_and_gathered_lines_agree() {
        let data = b"one\r\ntwo\n\nthree four five\r\nsix";
        let want: Vec<&[u8]> = vec![b"one", b"two", b"", b"three four five", b"six"];
        for capacity in [1, 3, 5, 8, 64] {
            let mut r =
                CappedLineReader::new(io::BufReader::with_capacity(capacity, &data[..]), 100);
            let mut buf = Vec::new();
            let mut got = Vec::new();
            while let Some((s, l)) = r.next_line(&mut buf).expect("io") {
                assert_eq!(s, CappedLine::Complete);
                got.push(l.to_vec());
            }
            assert_eq!(got, want, "buffer of {capacity}");
            assert_eq!(r.consumed, data.len() as u64);
        }
    }
}
