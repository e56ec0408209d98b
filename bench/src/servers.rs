//! Throwaway database servers for the replica benchmark: a PostgreSQL cluster and a Redis
//! server in a temporary directory on a free port, stopped and deleted when dropped; and
//! what they cost while measured (statements or commands, CPU of their processes).
use anyhow::{bail, Context as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to accept connections.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// A free TCP port on 127.0.0.1 (free when asked; the server binds it right after).
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Runs `command`, failing with its output when it fails.
fn run(command: &mut Command) -> anyhow::Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed with {}:\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Waits until `ready` holds, for at most [`START_DEADLINE`].
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_DEADLINE;
    while !ready() {
        if Instant::now() > deadline {
            bail!("{what} did not start within {START_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// CPU time (user + system) of process `pid`, with its reaped children when `reaped`.
fn process_cpu(pid: u32, reaped: bool) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let field = |n: usize| fields.get(n).and_then(|f| f.parse::<u64>().ok());
    // utime, stime, cutime, cstime are fields 14–17 of proc(5); 3 is the first after ')'.
    let mut ticks = field(11)? + field(12)?;
    if reaped {
        ticks += field(13)? + field(14)?;
    }
    let per_sec = Some(rustix::param::clock_ticks_per_second()).filter(|t| *t > 0)?;
    Some(Duration::from_secs_f64(ticks as f64 / per_sec as f64))
}

/// The parent pid of process `pid`.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU time of process `root` (with the children it reaped) and of its live children.
fn tree_cpu(root: u32) -> Duration {
    let mut total = process_cpu(root, true).unwrap_or_default();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return total;
    };
    for pid in entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| parent_of(*pid) == Some(root))
    {
        total += process_cpu(pid, false).unwrap_or_default();
    }
    total
}

/// A PostgreSQL cluster of its own, with `pg_stat_statements`.
pub(crate) struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    data: PathBuf,
    /// `postgres://…` of the cluster's `postgres` database, user `bench`.
    pub url: String,
    as_postgres: bool,
}

impl Postgres {
    /// Creates and starts a cluster with the newest `/usr/lib/postgresql/*/bin`, as the
    /// `postgres` user when run as root (PostgreSQL refuses to run as root).
    pub(crate) fn start() -> anyhow::Result<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .context("PostgreSQL is not installed (no /usr/lib/postgresql)")?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|bin| bin.join("initdb").exists())
            .max_by_key(|bin| {
                bin.parent()
                    .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
            })
            .context("no /usr/lib/postgresql/*/bin/initdb")?;
        let dir = tempfile::tempdir().context("creating a temporary directory")?;
        let as_postgres = rustix::process::geteuid().is_root();
        if as_postgres {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path()))?;
        }
        let data = dir.path().join("data");
        let port = free_port()?;
        let server = Self {
            url: format!("postgres://bench@127.0.0.1:{port}/postgres"),
            dir,
            bin,
            data,
            as_postgres,
        };
        run(server
            .command("initdb")
            .args([
                "-U",
                "bench",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "-D",
            ])
            .arg(&server.data))?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 \
             -c shared_preload_libraries=pg_stat_statements",
            server.dir.path().display()
        );
        run(server
            .command("pg_ctl")
            .args(["-w", "-t", "30", "-D"])
            .arg(&server.data)
            .arg("-l")
            .arg(server.dir.path().join("log"))
            .args(["-o", &options, "start"]))?;
        Ok(server)
    }

    fn command(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    /// The postmaster's pid.
    fn pid(&self) -> anyhow::Result<u32> {
        let file = std::fs::read_to_string(self.data.join("postmaster.pid"))
            .context("reading postmaster.pid")?;
        file.lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .context("postmaster.pid names no pid")
    }

    /// CPU time of the server so far: the postmaster and every backend.
    pub(crate) fn cpu(&self) -> anyhow::Result<Duration> {
        Ok(tree_cpu(self.pid()?))
    }

    /// The data directory's path, for messages.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Best effort: the temporary directory goes with it.
        let _ = self
            .command("pg_ctl")
            .args(["-m", "immediate", "-D"])
            .arg(&self.data)
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A Redis server of its own, without persistence.
pub(crate) struct Redis {
    _dir: tempfile::TempDir,
    child: Child,
    port: u16,
    /// `redis://…` of the server.
    pub url: String,
}

impl Redis {
    /// Starts `redis-server` on a free port.
    pub(crate) fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("creating a temporary directory")?;
        let port = free_port()?;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting redis-server (is it installed?)")?;
        let server = Self {
            _dir: dir,
            child,
            port,
            url: format!("redis://127.0.0.1:{port}/"),
        };
        wait_for("redis-server", || {
            server.cli(&["ping"]).is_ok_and(|out| out.trim() == "PONG")
        })?;
        Ok(server)
    }

    fn cli(&self, args: &[&str]) -> anyhow::Result<String> {
        run(Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args))
    }

    /// Commands the server has processed so far, by command (`INFO commandstats`). The
    /// commands a script runs count too, under their own names.
    pub(crate) fn commands(&self) -> anyhow::Result<Vec<(String, u64)>> {
        let info = self.cli(&["info", "commandstats"])?;
        // cmdstat_evalsha:calls=12,usec=345,...
        Ok(info
            .lines()
            .filter_map(|line| {
                let (name, stats) = line.strip_prefix("cmdstat_")?.split_once(':')?;
                let calls = stats.split(',').find_map(|s| s.strip_prefix("calls="))?;
                Some((name.to_uppercase(), calls.parse().ok()?))
            })
            .collect())
    }

    /// CPU time of the server so far.
    pub(crate) fn cpu(&self) -> Duration {
        process_cpu(self.child.id(), true).unwrap_or_default()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_process_cpu_time_and_its_parent() {
        let me = std::process::id();
        let parent = std::os::unix::process::parent_id();
        assert_eq!(parent_of(me), Some(parent));
        let before = process_cpu(me, false).unwrap();
        let mut x = 0u64;
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(300) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
        }
        let after = process_cpu(me, false).unwrap();
        assert!(after > before, "{before:?} -> {after:?}");
        assert!(tree_cpu(parent) >= process_cpu(parent, true).unwrap());
        assert_eq!(process_cpu(u32::MAX, false), None);
    }
}
