//! The reader on files written here with known layout, and on every kind of damage.

use std::io::Write;

use super::*;

fn record(id: usize, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{id}>\r\nWARC-Target-URI: http://example.com/{id}\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r.extend_from_slice(b"\r\n\r\n");
    r
}

fn body(id: usize) -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><p>page {id}</p></html>")
        .into_bytes()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn read_all(bytes: &[u8], codec: Codec) -> (Vec<Record>, Vec<BadRecord>) {
    read_with(bytes, codec, Limits::default())
}

fn read_with(bytes: &[u8], codec: Codec, limits: Limits) -> (Vec<Record>, Vec<BadRecord>) {
    let mut r = WarcReader::new(bytes, codec, limits);
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    let mut steps = 0;
    while let Some(item) = r.next_item().unwrap() {
        steps += 1;
        assert!(steps < 10_000, "reader does not progress");
        match item {
            Item::Record(rec) => good.push(rec),
            Item::Bad(b) => bad.push(b),
        }
    }
    (good, bad)
}

fn ids(recs: &[Record]) -> Vec<String> {
    recs.iter()
        .map(|r| r.record_id().unwrap_or("").to_string())
        .collect()
}

#[test]
fn plain_records_with_offsets() {
    let recs: Vec<Vec<u8>> = (0..3).map(|i| record(i, &body(i))).collect();
    let file = recs.concat();
    let (good, bad) = read_all(&file, Codec::Plain);
    assert!(bad.is_empty());
    assert_eq!(ids(&good), ["urn:uuid:0", "urn:uuid:1", "urn:uuid:2"]);
    assert_eq!(good[1].offset, recs[0].len() as u64);
    assert_eq!(good[2].block, body(2));
    assert_eq!(good[0].target_uri(), Some("http://example.com/0"));
    assert_eq!(good[0].version, "WARC/1.1");
}

#[test]
fn gzip_member_per_record_gives_member_offsets() {
    let members: Vec<Vec<u8>> = (0..4).map(|i| gz(&record(i, &body(i)))).collect();
    let file = members.concat();
    let (good, bad) = read_all(&file, Codec::Gzip);
    assert!(bad.is_empty(), "{bad:?}");
    let mut at = 0u64;
    for (rec, m) in good.iter().zip(&members) {
        assert_eq!(rec.offset, at);
        // The offset is where a ranged GET of one member starts.
        let (again, _) = read_all(&file[at as usize..at as usize + m.len()], Codec::Gzip);
        assert_eq!(again[0].record_id(), rec.record_id());
        at += m.len() as u64;
    }
    assert_eq!(good.len(), 4);
}

#[test]
fn one_gzip_stream_and_zstd_frames_read_the_same() {
    let plain: Vec<u8> = (0..5)
        .map(|i| record(i, &body(i)))
        .collect::<Vec<_>>()
        .concat();
    let (one, bad) = read_all(&gz(&plain), Codec::Gzip);
    assert!(bad.is_empty());
    assert_eq!(one.len(), 5);
    let frames: Vec<u8> = (0..5)
        .map(|i| zstd::encode_all(&record(i, &body(i))[..], 3).unwrap())
        .collect::<Vec<_>>()
        .concat();
    let (z, bad) = read_all(&frames, Codec::Zstd);
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(ids(&z), ids(&one));
}

#[test]
fn zstd_with_a_dictionary_frame() {
    let samples: Vec<Vec<u8>> = (0..200).map(|i| record(i, &body(i))).collect();
    let dict = zstd::dict::from_samples(&samples, 4096).unwrap();
    let mut file = vec![0x5d, 0x2a, 0x4d, 0x18];
    file.extend_from_slice(&(dict.len() as u32).to_le_bytes());
    file.extend_from_slice(&dict);
    for s in samples.iter().take(3) {
        let mut enc = zstd::stream::Encoder::with_dictionary(Vec::new(), 3, &dict).unwrap();
        enc.write_all(s).unwrap();
        file.extend_from_slice(&enc.finish().unwrap());
    }
    let (good, bad) = read_all(&file, Codec::Zstd);
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(good.len(), 3);
}

#[test]
fn truncated_gzip_member_is_bad_and_the_next_member_reads() {
    let m0 = gz(&record(0, &body(0)));
    let m1 = gz(&record(1, &body(1)));
    let m2 = gz(&record(2, &body(2)));
    let file = [&m0[..], &m1[..m1.len() / 2], &m2[..]].concat();
    let (good, bad) = read_all(&file, Codec::Gzip);
    assert_eq!(ids(&good), ["urn:uuid:0", "urn:uuid:2"]);
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].offset, m0.len() as u64);
    assert!(bad[0].detail.contains("gzip member"), "{}", bad[0].detail);
}

#[test]
fn garbage_between_members_and_records() {
    let m0 = gz(&record(0, &body(0)));
    let m1 = gz(&record(1, &body(1)));
    let file = [&m0[..], b"GARBAGE BYTES\n", &m1[..]].concat();
    let (good, bad) = read_all(&file, Codec::Gzip);
    assert_eq!(good.len(), 2);
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].offset, m0.len() as u64);
    let r0 = record(0, &body(0));
    let plain = [&r0[..], b"junk junk\r\n", &record(1, &body(1))[..]].concat();
    let (good, bad) = read_all(&plain, Codec::Plain);
    assert_eq!(good.len(), 2);
    assert_eq!(bad[0].offset, r0.len() as u64);
    assert!(bad[0].detail.contains("not a WARC record"));
}

#[test]
fn clipped_last_record_and_lying_content_length() {
    let r0 = record(0, &body(0));
    let r1 = record(1, &body(1));
    let clipped = [&r0[..], &r1[..r1.len() - 20]].concat();
    let (good, bad) = read_all(&clipped, Codec::Plain);
    assert_eq!(good.len(), 1);
    assert_eq!((bad.len(), bad[0].offset), (1, r0.len() as u64));
    assert!(bad[0].detail.contains("clipped"), "{}", bad[0].detail);
    // Content-Length 10 bytes too long swallows the start of the next record.
    let b1 = body(1);
    let liar = String::from_utf8(record(1, &b1)).unwrap().replace(
        &format!("Content-Length: {}", b1.len()),
        &format!("Content-Length: {}", b1.len() + 10),
    );
    let file = [
        &r0[..],
        liar.as_bytes(),
        &record(2, &body(2))[..],
        &record(3, &body(3))[..],
    ]
    .concat();
    let (good, bad) = read_all(&file, Codec::Plain);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(
        bad[0].detail.contains("Content-Length"),
        "{}",
        bad[0].detail
    );
    assert_eq!(ids(&good), ["urn:uuid:0", "urn:uuid:2", "urn:uuid:3"]);
    // Too short: the rest of the block is not a record start.
    let short = String::from_utf8(record(1, &b1)).unwrap().replace(
        &format!("Content-Length: {}", b1.len()),
        "Content-Length: 12",
    );
    let file = [&r0[..], short.as_bytes(), &record(2, &body(2))[..]].concat();
    let (good, bad) = read_all(&file, Codec::Plain);
    assert_eq!(ids(&good), ["urn:uuid:0", "urn:uuid:2"]);
    assert_eq!(bad.len(), 1);
}

#[test]
fn oversized_record_is_skipped_without_being_held() {
    let big = vec![b'x'; 3 << 20];
    let file = [
        &record(0, &body(0))[..],
        &record(1, &big)[..],
        &record(2, &body(2))[..],
    ]
    .concat();
    let limits = Limits {
        max_record_bytes: 1 << 20,
        ..Limits::default()
    };
    let (good, bad) = read_with(&file, Codec::Plain, limits);
    assert_eq!(ids(&good), ["urn:uuid:0", "urn:uuid:2"]);
    assert!(bad[0].detail.contains("over the cap"), "{}", bad[0].detail);
    assert!(bad[0].raw.len() < 1024, "only the header is kept");
    let (good, _) = read_with(&gz(&file), Codec::Gzip, limits);
    assert_eq!(good.len(), 2);
}

#[test]
fn random_damage_never_panics_or_hangs() {
    let clean: Vec<u8> = (0..20)
        .map(|i| gz(&record(i, &body(i))))
        .collect::<Vec<_>>()
        .concat();
    let mut rng = 0x9e3779b97f4a7c15u64;
    for _ in 0..60 {
        let mut f = clean.clone();
        for _ in 0..4 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let at = (rng % f.len() as u64) as usize;
            f[at] = (rng >> 32) as u8;
        }
        rng ^= rng << 13;
        let cut = f.len() - (rng % 64) as usize;
        for codec in [Codec::Gzip, Codec::Plain] {
            let (good, _) = read_all(&f[..cut], codec);
            assert!(good.len() <= 20);
        }
    }
}

/// A source that fails after `ok` bytes, as a dropped network read does.
struct Failing<'a> {
    data: &'a [u8],
    ok: usize,
}

impl Read for Failing<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.ok == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset",
            ));
        }
        let n = out.len().min(self.ok).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        self.ok -= n;
        Ok(n)
    }
}

#[test]
fn a_failing_source_is_an_error_not_a_corrupt_member() {
    let file: Vec<u8> = (0..3)
        .map(|i| gz(&record(i, &body(i))))
        .collect::<Vec<_>>()
        .concat();
    let mut r = WarcReader::new(
        Failing {
            data: &file,
            ok: file.len() / 2,
        },
        Codec::Gzip,
        Limits::default(),
    );
    let err = loop {
        match r.next_item() {
            Ok(Some(Item::Bad(b))) => panic!("a read error became a bad record: {}", b.detail),
            Ok(Some(Item::Record(_))) => {}
            Ok(None) => panic!("the error was lost"),
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
}
