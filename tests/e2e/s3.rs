//! S3 against a real S3-compatible server (moto, started per test on loopback): inputs
//! and outputs on S3 give the bytes of a local run, cluster workers with nothing shared
//! but the bucket do too, and a server that dies mid-run fails the run cleanly and a
//! rerun completes with identical output.
//!
//! The server binary comes from `TAOJIN_MOTO_SERVER` or `.venv/bin/moto_server` (what
//! `make test` installs); without one they fail.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

const BUCKET: &str = "taojin";

fn moto_binary() -> Option<PathBuf> {
    let candidates = [
        std::env::var("TAOJIN_MOTO_SERVER").ok().map(PathBuf::from),
        Some(repo_path(".venv/bin/moto_server")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

/// A moto server on a free loopback port, killed on drop.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    fn start() -> Moto {
        // A missing server is a failure, never a silent pass: `make test` installs it.
        let Some(bin) = moto_binary() else {
            panic!("no moto_server: run `make test` (it installs moto), or set TAOJIN_MOTO_SERVER");
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        Moto::start_on(&bin, port)
    }

    fn start_on(bin: &Path, port: u16) -> Moto {
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server");
        let moto = Moto { child, port };
        let start = Instant::now();
        while moto.http("GET", "/", b"").is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "moto did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto.http("PUT", &format!("/{BUCKET}"), b"")
            .expect("create bucket");
        moto
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn http(&self, method: &str, path: &str, body: &[u8]) -> Option<(u16, Vec<u8>)> {
        http(self.port, method, path, body)
    }

    fn put(&self, key: &str, bytes: &[u8]) {
        let (status, _) = self
            .http("PUT", &format!("/{BUCKET}/{key}"), bytes)
            .expect("put");
        assert_eq!(status, 200, "{key}");
    }

    fn get(&self, key: &str) -> Vec<u8> {
        let (status, body) = self
            .http("GET", &format!("/{BUCKET}/{key}"), b"")
            .expect("get");
        assert_eq!(status, 200, "{key}");
        body
    }

    /// Keys under a prefix (one page: tests stay under 1,000 objects).
    fn list(&self, prefix: &str) -> Vec<String> {
        let (_, body) = self
            .http(
                "GET",
                &format!("/{BUCKET}?list-type=2&prefix={prefix}"),
                b"",
            )
            .expect("list");
        let xml = String::from_utf8_lossy(&body).into_owned();
        let mut keys: Vec<String> = xml
            .split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next().map(str::to_string))
            .collect();
        keys.sort();
        keys
    }

    /// Starts a multipart upload of `key` that is never completed (a writer's, mid-way).
    fn start_upload(&self, key: &str) {
        let (status, body) = self
            .http("POST", &format!("/{BUCKET}/{key}?uploads"), b"")
            .expect("create upload");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }

    /// Keys of the multipart uploads in progress under a prefix.
    fn uploads(&self, prefix: &str) -> Vec<String> {
        let (_, body) = self
            .http("GET", &format!("/{BUCKET}?uploads&prefix={prefix}"), b"")
            .expect("list uploads");
        let xml = String::from_utf8_lossy(&body).into_owned();
        xml.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next().map(str::to_string))
            .collect()
    }

    fn upload_dir(&self, dir: &Path, prefix: &str) {
        for f in std::fs::read_dir(dir).expect("dir").flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            self.put(
                &format!("{prefix}/{name}"),
                &std::fs::read(f.path()).expect("read"),
            );
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 request; moto does not verify signatures but wants a principal
/// (anonymous reads of private objects are refused, as on S3).
fn http(port: u16, method: &str, path: &str, body: &[u8]) -> Option<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\nConnection: close\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20261128/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00\r\n\r\n",
        port,
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).ok()?;
    let end = resp.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&resp[..end]).into_owned();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let mut body = resp[end + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Some((status, body))
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 4 + n..];
    }
}

const STAGES: &str = "[[stages]]\nkind = \"normalize\"\n\n\
    [[stages]]\nkind = \"exact_dedup\"\n\n\
    [[stages]]\nkind = \"minhash_dedup\"\n\n\
    [[stages]]\nkind = \"mix\"\n\n\
    [[stages.sources]]\nname = \"en\"\nwhere = \"source = 'web-en'\"\nweight = 0.5\n\n\
    [[stages.sources]]\nname = \"zh\"\nwhere = \"source = 'web-zh'\"\nweight = 0.5\n\n\
    [[stages]]\nkind = \"tokenize\"\ntokenizer = \"tok.json\"\ntrain_vocab = 800\nseq_len = 128\nvalid_fraction = 0.1\n";

/// The job with inputs under `input_base` (`data` or `s3://…/in`) and the given output.
fn job_text(input_base: &str, output: &str, endpoint: &str, attempts: u32) -> String {
    let inputs = ["web-en", "web-zh"]
        .map(|n| input(n, &format!("{input_base}/{n}-*.jsonl.zst")))
        .join("\n");
    format!(
        "[job]\nname = \"t\"\noutput = \"{output}\"\n\n{inputs}\n{STAGES}\n\
         [storage]\nstaging_dir = \"staging\"\n\n[storage.s3]\nendpoint_url = \"{endpoint}\"\nmax_attempts = {attempts}\n"
    )
}

fn taojin_s3(ws: &Workspace, args: &[&str], envs: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_taojin"));
    cmd.args(args)
        .current_dir(ws.dir.path())
        .env("RUST_LOG", "warn")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing-secret-never-printed")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("TAOJIN_STAGING_DIR");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("taojin")
}

/// Task `task` of cluster step `step` of `job.toml` in `cwd`, staging in `staging`.
fn spawn_worker(cwd: &Path, step: &str, task: usize, staging: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_taojin"))
        .args([
            "run",
            "job.toml",
            "--stage",
            step,
            "--task",
            &task.to_string(),
        ])
        .current_dir(cwd)
        .env("RUST_LOG", "warn")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("TAOJIN_STAGING_DIR", staging)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The local run's data files, which the bucket must hold byte for byte.
fn compare_with_local(moto: &Moto, ws: &Workspace, prefix: &str) -> usize {
    let local = ws.path("local");
    let mut n = 0;
    for f in all_files(&local) {
        let rel = f.to_string_lossy().into_owned();
        if !(rel.ends_with(".parquet") || rel.ends_with(".arrow") || rel.ends_with("manifest.json"))
        {
            continue;
        }
        let remote = moto.get(&format!("{prefix}/{rel}"));
        let local = std::fs::read(local.join(&f)).expect("local");
        if rel.ends_with("manifest.json") {
            // The config hashes cover the input paths, which differ (s3:// vs data/).
            let strip = |b: &[u8]| {
                let mut v: serde_json::Value = serde_json::from_slice(b).expect("manifest");
                v["job_hash"] = serde_json::Value::Null;
                v["mix"]["stage_hash"] = serde_json::Value::Null;
                v
            };
            assert_eq!(strip(&remote), strip(&local), "{rel}");
        } else {
            assert!(
                remote == local,
                "{rel} differs ({} vs {} bytes)",
                remote.len(),
                local.len()
            );
        }
        n += 1;
    }
    n
}

/// Writes `job.toml`: inputs under `s3://taojin/in`, output `s3://taojin/<out>`.
fn s3_job(ws: &Workspace, moto: &Moto, out: &str, attempts: u32) {
    let url = format!("s3://{BUCKET}");
    let text = job_text(
        &format!("{url}/in"),
        &format!("{url}/{out}"),
        &moto.endpoint(),
        attempts,
    );
    ws.write("job.toml", text);
}

fn setup(moto: &Moto) -> Workspace {
    let ws = Workspace::new();
    ws.run_ok(&["demo-data", "data"]);
    moto.upload_dir(&ws.path("data"), "in");
    // The reference: the same job, local inputs and output, trained tokenizer reused.
    ws.write("local.toml", job_text("data", "local", &moto.endpoint(), 3));
    ws.run_ok(&["run", "local.toml"]);
    ws
}

#[test]
fn s3_inputs_and_outputs_match_a_local_run() {
    let moto = Moto::start();
    let ws = setup(&moto);
    s3_job(&ws, &moto, "out/demo", 3);
    // Debug logging, the SDK's included: the secret still never shows.
    let out = taojin_s3(&ws, &["run", "job.toml"], &[("RUST_LOG", "debug".into())]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ok(out);
    assert!(stderr.contains("s3://"), "debug logging was on");
    assert!(!stderr.contains("testing-secret-never-printed"));
    let keys = moto.list("out/demo/");
    assert!(
        keys.contains(&"out/demo/stats.json".to_string()),
        "{keys:?}"
    );
    assert!(keys.iter().any(|k| k.ends_with("shards/manifest.json")));
    // The report, built from the staging folder that holds every part, goes up too.
    let report = moto.get("out/demo/report.html");
    assert!(report.starts_with(b"<!doctype html>"));
    assert_eq!(
        report,
        std::fs::read(ws.path("staging/report.html")).expect("report")
    );
    let n = compare_with_local(&moto, &ws, "out/demo");
    assert!(n > 20, "{n}");
    // Ids derived from S3 object names are those of the local run.
    assert_eq!(
        column(&ws.path("staging/normalize"), "id", false),
        column(&ws.path("local/normalize"), "id", false)
    );
    // A second run with an empty staging folder resumes from the bucket: nothing reruns.
    std::fs::remove_dir_all(ws.path("staging")).expect("rm");
    ok(taojin_s3(&ws, &["run", "job.toml"], &[]));
    let stats: serde_json::Value =
        serde_json::from_slice(&moto.get("out/demo/stats.json")).expect("stats");
    for s in stats["stages"].as_array().expect("stages") {
        assert_eq!(s["tasks_resumed"], s["tasks"], "{}", s["name"]);
    }
    // Nothing ran and the parts stayed in the bucket: the report there is kept.
    assert_eq!(moto.get("out/demo/report.html"), report);
}

#[test]
fn cluster_workers_share_nothing_but_the_bucket() {
    let moto = Moto::start();
    let ws = setup(&moto);
    s3_job(&ws, &moto, "out/c", 3);
    // A report an earlier run left, which the cluster's outputs no longer match.
    moto.put("out/c/report.html", b"stale");
    let plan = ok(taojin_s3(&ws, &["plan", "job.toml"], &[]));
    let steps = plan_steps(&plan);
    for (step, tasks) in &steps {
        // Every task in its own staging folder, as on separate machines; all at once.
        let children: Vec<_> = (0..*tasks)
            .map(|t| {
                let node = ws.path(&format!("node-{}-{t}", step.replace(':', "-")));
                spawn_worker(ws.dir.path(), step, t, &node)
            })
            .collect();
        wait_ok(children, step);
        if step == "prepare" {
            // A prepare again (its job resubmitted) joins this run: an upload one of its
            // workers may be making stays.
            moto.start_upload("out/c/normalize/part-00000.parquet");
            prepare_on(&ws, "node-prepare-again");
            assert_eq!(moto.uploads("out/c/").len(), 1);
        }
    }
    let n = compare_with_local(&moto, &ws, "out/c");
    assert!(n > 20, "{n}");
    let listed = moto.list("out/c/");
    assert!(listed.contains(&"out/c/stats.json".to_string()));
    // `finalize`, on a machine that holds no parts, pulls the ones its report reads and
    // puts the report up in place of the stale one: the local run's page, but for the
    // folder named and the timings.
    let report = String::from_utf8(moto.get("out/c/report.html")).expect("utf-8");
    let local = std::fs::read_to_string(ws.path("local/report.html")).expect("local report");
    for read_from_parts in ["largest clusters", "<h2>Mix and shards</h2>", "</pre>"] {
        assert!(
            report.contains(read_from_parts),
            "{read_from_parts}: {report}"
        );
    }
    assert_eq!(comparable(&report), comparable(&local));
    let node = ws.path("node-finalize-0");
    assert_eq!(
        parquet_files(&node),
        0,
        "the parts pulled for the report are removed"
    );
    // A finalize again with the same configs as the bucket's stats: the report is kept.
    moto.put("out/c/report.html", b"current");
    let staging = (
        "TAOJIN_STAGING_DIR",
        ws.path("node-finalize-again").display().to_string(),
    );
    ok(taojin_s3(
        &ws,
        &["run", "job.toml", "--stage", "finalize", "--task", "0"],
        &[staging],
    ));
    assert_eq!(moto.get("out/c/report.html"), b"current");
    // The next run's prepare takes a free output: no writer is alive, the upload that
    // never completed is aborted.
    prepare_on(&ws, "node-next-run");
    assert_eq!(moto.uploads("out/c/"), Vec::<String>::new());
}

/// The `prepare` step on a machine of its own (staging folder `node`).
fn prepare_on(ws: &Workspace, node: &str) {
    let staging = ("TAOJIN_STAGING_DIR", ws.path(node).display().to_string());
    let args = ["run", "job.toml", "--stage", "prepare", "--task", "0"];
    ok(taojin_s3(ws, &args, &[staging]));
}

/// The Parquet files under `dir`.
fn parquet_files(dir: &Path) -> usize {
    all_files(dir)
        .iter()
        .filter(|f| f.to_string_lossy().ends_with(".parquet"))
        .count()
}

/// A cluster `finalize` over 20 parts a stage reads every second one of the bucket's for
/// its report, and says so: 10 of 20, not 10 of the 10 it pulled.
#[test]
fn a_cluster_report_says_how_many_of_the_bucket_parts_it_read() {
    let moto = Moto::start();
    let ws = Workspace::new();
    for i in 0..20 {
        let docs: String = (0..3)
            .map(|d| {
                let text = format!("Document {d} of file {i}, a sentence long enough to keep. ");
                format!(
                    "{{\"id\": \"f{i}-{d}\", \"text\": \"{}\"}}\n",
                    text.repeat(4)
                )
            })
            .collect();
        ws.write(&format!("in/d-{i:02}.jsonl"), docs);
    }
    moto.upload_dir(&ws.path("in"), "many");
    ws.write(
        "job.toml",
        format!(
            "[job]\nname = \"m\"\noutput = \"s3://{BUCKET}/out/m\"\n\n{}\n\
             [[stages]]\nkind = \"normalize\"\n\n[storage]\nstaging_dir = \"staging\"\n\n\
             [storage.s3]\nendpoint_url = \"{}\"\n",
            input("many", &format!("s3://{BUCKET}/many/d-*.jsonl")),
            moto.endpoint()
        ),
    );
    let plan = ok(taojin_s3(&ws, &["plan", "job.toml"], &[]));
    // `finalize` runs where normalize's task 1 ran: that part is here, and not read
    // unless the sample picks it.
    let holder = ws.path("node-normalize-1");
    let mut before = 0;
    for (step, tasks) in plan_steps(&plan) {
        if step == "finalize" {
            before = parquet_files(&holder);
        }
        let children: Vec<_> = (0..tasks)
            .map(|t| {
                let node = match &step[..] {
                    "finalize" => holder.clone(),
                    _ => ws.path(&format!("node-{}-{t}", step.replace(':', "-"))),
                };
                spawn_worker(ws.dir.path(), &step, t, &node)
            })
            .collect();
        wait_ok(children, &step);
    }
    let report = String::from_utf8(moto.get("out/m/report.html")).expect("utf-8");
    assert!(
        report.contains("normalize (10 of 20 part files)"),
        "{report}"
    );
    assert!(before > 0);
    assert_eq!(
        parquet_files(&holder),
        before,
        "only what was pulled is removed"
    );
}

/// A report page less what depends on where and how fast it ran: the folder under the
/// title and the timings section.
fn comparable(page: &str) -> String {
    let page = page.split("<h2>Timings</h2>").next().unwrap_or(page);
    match (page.find("</h1><p>"), page.find("</p><h2>")) {
        (Some(a), Some(b)) if a < b => format!("{}{}", &page[..a], &page[b..]),
        _ => page.to_string(),
    }
}

#[test]
fn a_server_that_dies_mid_run_fails_cleanly_and_a_rerun_completes() {
    let moto = Moto::start();
    let ws = setup(&moto);
    s3_job(&ws, &moto, "out/f", 2);
    let child = Command::new(env!("CARGO_BIN_EXE_taojin"))
        .args(["run", "job.toml"])
        .current_dir(ws.dir.path())
        .env("RUST_LOG", "warn")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Kill the server as soon as the first stage reached the bucket.
    let start = Instant::now();
    while moto.list("out/f/").is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "nothing uploaded"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let port = moto.port;
    let bin = moto_binary().expect("moto");
    drop(moto);
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a clean failure, not a crash: {stderr}"
    );
    assert!(
        stderr.contains("s3://taojin/"),
        "names the object: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let error = stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect::<Vec<_>>();
    assert!(
        error.len() == 1 && error[0].len() < 500,
        "one short line, not the SDK's debug dump: {stderr}"
    );
    // A fresh (empty) server on the same port; inputs uploaded again; the rerun completes.
    let moto = Moto::start_on(&bin, port);
    moto.upload_dir(&ws.path("data"), "in");
    ok(taojin_s3(&ws, &["run", "job.toml"], &[]));
    let n = compare_with_local(&moto, &ws, "out/f");
    assert!(n > 20, "{n}");
}

#[test]
fn large_outputs_go_up_in_parts_and_come_back_whole() {
    let moto = Moto::start();
    let ws = Workspace::new();
    // ~30 MB of hard-to-compress text in one task: its part file exceeds the 16 MiB part
    // size, so it is uploaded as a multipart upload.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut lines = String::new();
    for i in 0..3000 {
        let text: String = (0..10_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(b'a' + (state % 26) as u8)
            })
            .collect();
        lines.push_str(&format!("{{\"id\": \"d{i}\", \"text\": \"{text}\"}}\n"));
    }
    ws.write("big.jsonl", &lines);
    moto.put("in/big.jsonl", lines.as_bytes());
    ws.write(
        "job.toml",
        format!(
            "[job]\nname = \"big\"\noutput = \"s3://{BUCKET}/out/big\"\nsplit_bytes = 1000000000\n\n\
             [[inputs]]\nname = \"big\"\npath = \"s3://{BUCKET}/in/big.jsonl\"\n\n\
             [[stages]]\nkind = \"normalize\"\n\n[storage]\nstaging_dir = \"staging\"\n\n\
             [storage.s3]\nendpoint_url = \"{}\"\n",
            moto.endpoint()
        ),
    );
    ok(taojin_s3(&ws, &["run", "job.toml"], &[]));
    let part = ws.path("staging/normalize/part-00000.parquet");
    let local = std::fs::read(&part).expect("part");
    assert!(local.len() > 16 << 20, "{} bytes", local.len());
    let remote = moto.get("out/big/normalize/part-00000.parquet");
    assert!(remote == local, "{} vs {} bytes", remote.len(), local.len());
    let docs = column(&ws.path("staging/normalize"), "id", false);
    assert_eq!(docs.len(), 3000);
}

#[test]
fn a_changed_config_replaces_same_sized_objects() {
    let moto = Moto::start();
    let ws = Workspace::new();
    ws.run_ok(&["demo-data", "data"]);
    moto.upload_dir(&ws.path("data"), "in");
    // Only the seed changes: the shuffle reorders the same rows, so every shard keeps its
    // size and changes its bytes — a size comparison alone would keep the old objects.
    let job = |seed: u64| {
        format!(
            "[job]\nname = \"seed\"\noutput = \"s3://{BUCKET}/out/seed\"\nseed = {seed}\n\n\
             {}\n[[stages]]\nkind = \"normalize\"\n\n[[stages]]\nkind = \"tokenize\"\n\
             tokenizer = \"tok.json\"\ntrain_vocab = 600\nseq_len = 64\nvalid_fraction = 0.0\n\n\
             [storage]\nstaging_dir = \"staging\"\n\n[storage.s3]\nendpoint_url = \"{}\"\n",
            input("web-en", &format!("s3://{BUCKET}/in/web-en-*.jsonl.zst")),
            moto.endpoint()
        )
    };
    ws.write("job.toml", job(42));
    ok(taojin_s3(&ws, &["run", "job.toml"], &[]));
    let first = moto.get("out/seed/shards/train-00000.arrow");
    ws.write("job.toml", job(7));
    ok(taojin_s3(&ws, &["run", "job.toml"], &[]));
    let local = std::fs::read(ws.path("staging/shards/train-00000.arrow")).expect("shard");
    let remote = moto.get("out/seed/shards/train-00000.arrow");
    assert_eq!(
        first.len(),
        local.len(),
        "same size, the case this test is about"
    );
    assert!(first != local, "the new seed reshuffled the rows");
    assert!(remote == local, "the bucket holds the new shard");
    assert_eq!(
        moto.get("out/seed/shards/manifest.json"),
        std::fs::read(ws.path("staging/shards/manifest.json")).expect("manifest")
    );
}

#[test]
fn machines_sharing_only_the_bucket_exclude_each_other_by_its_lock() {
    let moto = Moto::start();
    let ws = Workspace::new();
    ws.write("data/docs.jsonl", jsonl_docs(5, "a"));
    moto.upload_dir(&ws.path("data"), "lockin");
    ws.write(
        "job.toml",
        format!(
            "[job]\nname = \"t\"\noutput = \"s3://{BUCKET}/out/l\"\n\n{}\n{NORMALIZE}\n\
             [storage]\nstaging_dir = \"staging\"\n\n[storage.s3]\nendpoint_url = \"{}\"\nmax_attempts = 3\n",
            input("t", &format!("s3://{BUCKET}/lockin/*.jsonl")),
            moto.endpoint()
        ),
    );
    // Another machine holds the output: a lock object naming a host that is not this one.
    let lock = serde_json::json!({
        "holder": "local", "host": "another-machine", "pid": 1, "proc_start": 1,
        "since": 0, "config": "0123456789abcdef"
    });
    moto.put("out/l/_lock.json", lock.to_string().as_bytes());
    let out = taojin_s3(&ws, &["run", "job.toml"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("s3://taojin/out/l/_lock.json") && stderr.contains("another-machine"),
        "{stderr}"
    );
    // Gone (that run finished): this one takes the lock, runs, and releases it.
    std::fs::remove_dir_all(ws.path("staging")).ok();
    let del = moto.http("DELETE", "/taojin/out/l/_lock.json", b"");
    assert!(del.is_some_and(|(s, _)| s == 204), "delete");
    ok(taojin_s3(&ws, &["run", "job.toml"], &[]));
    let keys = moto.list("out/l/");
    assert!(keys.contains(&"out/l/stats.json".to_string()), "{keys:?}");
    assert!(
        !keys.iter().any(|k| k.ends_with("_lock.json")),
        "released: {keys:?}"
    );
}

#[test]
fn a_warc_on_s3_reads_like_the_local_file() {
    let moto = Moto::start();
    let ws = Workspace::new();
    ws.run_ok(&["demo-crawl", "data/web"]);
    let warc = std::fs::read(ws.path("data/web/crawl-00000.warc.gz")).expect("warc");
    moto.put("crawl/seg/crawl-00000.warc.gz", &warc);
    let job = |path: &str, out: &str| {
        format!(
            "[job]\nname = \"t\"\noutput = \"{out}\"\non_bad_record = \"skip\"\n\n{}\n[[stages]]\nkind = \"extract\"\n\n\
             [storage]\nstaging_dir = \"staging\"\n\n[storage.s3]\nendpoint_url = \"{}\"\n",
            input("cc", path),
            moto.endpoint()
        )
    };
    ws.write("local.toml", job("data/web/*.warc.gz", "local"));
    ws.run_ok(&["run", "local.toml"]);
    ws.write(
        "job.toml",
        job(&format!("s3://{BUCKET}/crawl/*/*.warc.gz"), "remote"),
    );
    ok(taojin_s3(&ws, &["run", "job.toml"], &[]));
    let local = ws.path("local/extract");
    let remote = ws.path("remote/extract");
    for col in ["id", "text", "html.charset", "url"] {
        assert_eq!(
            column(&local, col, false),
            column(&remote, col, false),
            "{col}"
        );
    }
    assert_eq!(column(&remote, "id", false).len(), 60);
}

/// An input object rewritten with other bytes of the same size is read again: the plan
/// keys S3 inputs by their ETag, not by name and size alone.
#[test]
fn an_input_object_rewritten_with_the_same_size_reruns() {
    let moto = Moto::start();
    let ws = Workspace::new();
    let doc = |c: &str| format!("{{\"id\":\"d1\",\"text\":\"{}\"}}\n", c.repeat(200));
    moto.put("same/a.jsonl", doc("a").as_bytes());
    ws.write(
        "job.toml",
        format!(
            "[job]\nname = \"etag\"\noutput = \"out\"\n\n{}\n[[stages]]\nkind = \"normalize\"\n\n\
             [storage.s3]\nendpoint_url = \"{}\"\n",
            input("s", &format!("s3://{BUCKET}/same/*.jsonl")),
            moto.endpoint()
        ),
    );
    ok(taojin_s3(&ws, &["run", "job.toml"], &[]));
    let texts = || column(&ws.path("out/normalize"), "text", false);
    assert_eq!(texts(), vec![Some("a".repeat(200))]);
    moto.put("same/a.jsonl", doc("b").as_bytes());
    ok(taojin_s3(&ws, &["run", "job.toml"], &[]));
    assert_eq!(texts(), vec![Some("b".repeat(200))]);
    assert_eq!(ws.stats("out")["stages"][0]["tasks_resumed"], 0);
}

/// Runs the ignored test `name` of this binary in its own process against `moto`, with
/// the AWS settings it needs in that process's environment rather than this test
/// binary's, which every test shares.
fn in_own_process(name: &str, moto: &Moto) {
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", name, "--ignored", "--test-threads", "1"])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing-secret-never-printed")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env("TAOJIN_TEST_MOTO_PORT", moto.port.to_string())
        .output()
        .expect("run the test in its own process");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The moto port and an S3 client of it, in a test run by [`in_own_process`]; `None` in
/// one run directly (`--include-ignored`), which then runs itself that way.
fn own_process_client() -> Option<(u16, std::sync::Arc<taojin_pipeline::storage::S3>)> {
    let port: u16 = std::env::var("TAOJIN_TEST_MOTO_PORT")
        .ok()?
        .parse()
        .expect("port");
    let spec = taojin_schemas::job::S3Spec {
        endpoint_url: Some(format!("http://127.0.0.1:{port}")),
        ..Default::default()
    };
    let s3 = taojin_pipeline::storage::S3::connect(&spec).expect("connect");
    Some((port, std::sync::Arc::new(s3)))
}

#[test]
fn a_read_is_pinned_to_the_version_the_job_listed() {
    in_own_process("s3::pinned_read", &Moto::start());
}

/// Lists an object, rewrites it with other bytes of the same size, and reads it through
/// the reader the listing gave: the read fails naming the change rather than returning
/// the new bytes (or, across ranged reads, a mix of both).
#[test]
#[ignore = "run by a_read_is_pinned_to_the_version_the_job_listed, in its own process"]
fn pinned_read() {
    use taojin_pipeline::storage::{ObjectReader, glob};
    let Some((port, s3)) = own_process_client() else {
        return in_own_process("s3::pinned_read", &Moto::start());
    };
    let put = |bytes: &[u8]| {
        let (status, _) = http(port, "PUT", &format!("/{BUCKET}/pin/a.jsonl"), bytes).expect("put");
        assert_eq!(status, 200);
    };
    put(b"version one");
    let listed = glob(&s3, &format!("s3://{BUCKET}/pin/a.jsonl")).expect("list");
    let [(url, size, etag)] = listed.as_slice() else {
        panic!("{listed:?}");
    };
    let pinned = ObjectReader::new(s3.clone(), url, *size, Some(etag.clone())).expect("reader");
    assert_eq!(pinned.range(0, *size).expect("read"), b"version one");
    put(b"version two");
    let err = pinned
        .range(0, *size)
        .expect_err("a rewritten object must not be read");
    assert!(
        err.to_string().contains("changed after the job listed it"),
        "{err}"
    );
    let unpinned = ObjectReader::new(s3, url, *size, None).expect("reader");
    assert_eq!(unpinned.range(0, *size).expect("read"), b"version two");
}

#[test]
fn workers_sharing_only_the_bucket_get_the_tokenizer_the_setup_step_trained() {
    let moto = Moto::start();
    let ws = setup(&moto);
    // Every step of `text`, each task on its own machine: its own copy of the job file,
    // so `tok.json` resolves to a folder only that machine has.
    let on_machines = |prefix: &str, text: &str| {
        ws.write("job.toml", text);
        for (step, tasks) in &plan_steps(&ok(taojin_s3(&ws, &["plan", "job.toml"], &[]))) {
            let children: Vec<_> = (0..*tasks)
                .map(|t| {
                    let node = ws.path(&format!("{prefix}-{}-{t}", step.replace(':', "-")));
                    std::fs::create_dir_all(&node).expect("node");
                    std::fs::write(node.join("job.toml"), text).expect("job");
                    spawn_worker(&node, step, t, &node.join("staging"))
                })
                .collect();
            wait_ok(children, step);
        }
    };
    let text = job_text(
        &format!("s3://{BUCKET}/in"),
        &format!("s3://{BUCKET}/out/n"),
        &moto.endpoint(),
        3,
    );
    on_machines("v1", &text);
    let n = compare_with_local(&moto, &ws, "out/n");
    assert!(n > 20, "{n}");
    // Training is deterministic: the setup machine's tokenizer is the local run's.
    let kept = || moto.list("out/n/_files/tokenize/");
    let [first] = kept().try_into().unwrap_or_else(|k| panic!("{k:?}"));
    assert_eq!(
        moto.get(&first),
        std::fs::read(ws.path("tok.json")).expect("tok.json")
    );
    // Another vocabulary on fresh machines: the first spec's copy is not fetched, and the
    // setup step trains a new one.
    on_machines(
        "v2",
        &text.replace("train_vocab = 800", "train_vocab = 600"),
    );
    let both = kept();
    assert_eq!(both.len(), 2, "{both:?}");
    let second = both
        .iter()
        .find(|k| **k != first)
        .expect("a second tokenizer");
    assert_ne!(moto.get(second), moto.get(&first));
}

#[test]
fn a_stale_lock_in_the_bucket_lets_exactly_one_run_in() {
    in_own_process("s3::stale_bucket_lock", &Moto::start());
}

/// Sixteen runs of this host start at once on an output whose lock in the bucket a dead
/// run of this host left: exactly one takes it, every round, and its release leaves none.
#[test]
#[ignore = "run by a_stale_lock_in_the_bucket_lets_exactly_one_run_in, in its own process"]
fn stale_bucket_lock() {
    use taojin_pipeline::engine::lock::{LockPlace, OutputLock};
    let Some((port, s3)) = own_process_client() else {
        return in_own_process("s3::stale_bucket_lock", &Moto::start());
    };
    let staging = tempfile::tempdir().expect("tmp");
    let url = format!("s3://{BUCKET}/out/race");
    let remote = taojin_pipeline::storage::Remote::new(s3, &url, staging.path().to_path_buf())
        .expect("remote");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    let dead = serde_json::json!({
        "holder": "local", "host": host.trim(), "pid": u32::MAX, "proc_start": 0,
        "since": 0, "config": "dead"
    });
    for round in 0..40 {
        let (status, _) = http(
            port,
            "PUT",
            &format!("/{BUCKET}/out/race/_lock.json"),
            dead.to_string().as_bytes(),
        )
        .expect("put");
        assert_eq!(status, 200);
        let start = std::sync::Barrier::new(16);
        let taken = std::thread::scope(|s| {
            let runs: Vec<_> = (0..16)
                .map(|i| {
                    let (remote, start) = (&remote, &start);
                    s.spawn(move || {
                        start.wait();
                        OutputLock::acquire(
                            LockPlace::Remote(remote),
                            "local",
                            &format!("c{i}"),
                            None,
                        )
                    })
                })
                .collect();
            // Every lock stays held until all runs answered.
            let held: Vec<_> = runs.into_iter().map(|r| r.join().ok()).collect();
            held.iter().filter(|r| matches!(r, Some(Ok(_)))).count()
        });
        assert_eq!(taken, 1, "round {round}");
        let (status, _) =
            http(port, "GET", &format!("/{BUCKET}/out/race/_lock.json"), b"").expect("get");
        assert_eq!(
            status, 404,
            "round {round}: the winner's release leaves no lock"
        );
    }
}

/// On a bucket, `suffix` then `keep`: the rename files of the first run stay in the
/// bucket (and come down to a fresh staging folder), but under `keep` they are not
/// applied; back to `suffix`, they are again.
#[test]
fn renames_of_an_earlier_policy_in_the_bucket_are_not_applied() {
    let moto = Moto::start();
    let ws = Workspace::new();
    let doc = |id: &str, t: &str| serde_json::json!({"id": id, "text": t}).to_string() + "\n";
    ws.write("data/1.jsonl", doc("a", "first a") + &doc("a", "second a"));
    ws.write("data/2.jsonl", doc("a", "third a") + &doc("b", "only b"));
    let job = |policy: &str| {
        format!(
            "[job]\nname = \"ids\"\noutput = \"s3://{BUCKET}/out/ids\"\non_duplicate_id = \"{policy}\"\n\n\
             {}\n[[stages]]\nkind = \"normalize\"\n\n[[stages]]\nkind = \"exact_dedup\"\n\n\
             [storage]\nstaging_dir = \"staging\"\n\n[storage.s3]\nendpoint_url = \"{}\"\n",
            input("t", "data"),
            moto.endpoint()
        )
    };
    let ids = || {
        let mut v: Vec<String> = column(&ws.path("staging/exact_dedup"), "id", false)
            .into_iter()
            .flatten()
            .collect();
        v.sort();
        v
    };
    for (policy, want) in [
        ("suffix", ["a", "a#2", "a#3", "b"]),
        ("keep", ["a", "a", "a", "b"]),
        ("suffix", ["a", "a#2", "a#3", "b"]),
    ] {
        std::fs::remove_dir_all(ws.path("staging")).ok();
        ws.write("job.toml", job(policy));
        ok(taojin_s3(&ws, &["run", "job.toml"], &[]));
        assert_eq!(ids(), want, "{policy}");
    }
    assert!(
        moto.list("out/ids/normalize/_work/")
            .iter()
            .any(|k| k.contains("id-renames")),
        "the case this test is about: the bucket keeps the rename files"
    );
}
