//! Shared by the differential tests: a seeded generator of cases and the runner of a
//! Python reference script.
#![allow(dead_code)] // each test binary uses a part
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

/// xorshift64*: small, seeded, deterministic.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub(crate) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// A Python reference script of `.ci/`, with the packages it needs.
pub(crate) struct Reference {
    /// The script, relative to the workspace root (`.ci/cronsim/reference.py`).
    pub script: &'static str,
    /// The requirements file installing its packages.
    pub requirements: &'static str,
    /// The packages, for messages.
    pub packages: &'static str,
    /// The environment variable naming the interpreter (default `python3`).
    pub python_var: &'static str,
}

impl Reference {
    fn python(&self) -> String {
        std::env::var(self.python_var).unwrap_or_else(|_| "python3".to_owned())
    }

    /// Runs the script with `args` and `input` on stdin; its stdout's JSON lines. A
    /// missing interpreter or package fails the test, saying what to install.
    pub(crate) fn run(&self, args: &[&str], input: String) -> Vec<serde_json::Value> {
        let script = format!("{}/../{}", env!("CARGO_MANIFEST_DIR"), self.script);
        let mut child = Command::new(self.python())
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start `{}` ({e}); install Python 3 and `pip install -r {}` ({}), \
                     or set {}",
                    self.python(),
                    self.requirements,
                    self.packages,
                    self.python_var
                )
            });
        let mut stdin = child.stdin.take().expect("piped stdin");
        let writer = std::thread::spawn(move || {
            // A write error means the reader exited early; its stderr says why.
            let _ = stdin.write_all(input.as_bytes());
        });
        let stdout = child.stdout.take().expect("piped stdout");
        let lines: Vec<serde_json::Value> = BufReader::new(stdout)
            .lines()
            .map(|l| serde_json::from_str(&l.expect("read reference output")).expect("JSON line"))
            .collect();
        writer.join().expect("writer thread");
        let output = child.wait_with_output().expect("wait for the reference");
        assert!(
            output.status.success(),
            "the reference {} failed ({}); `pip install -r {}` ({}). stderr:\n{}",
            self.script,
            output.status,
            self.requirements,
            self.packages,
            String::from_utf8_lossy(&output.stderr)
        );
        lines
    }
}

/// An integer from the environment (decimal or `0x` hex), for extra runs.
pub(crate) fn env_u64(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    Some(parsed.unwrap_or_else(|e| panic!("{name}={text}: {e}")))
}

/// PyPI `tzdata` version for an IANA release: 2025b -> 2025.2.
pub(crate) fn tzdata_pypi_version(iana: &str) -> String {
    let (year, letter) = iana.split_at(4);
    let n = letter.bytes().next().map_or(0, |b| b - b'a' + 1);
    format!("{year}.{n}")
}
