//! What the load programs that run a real server share: start the release binary on a copy
//! of the demo data, wait until it answers, read its memory, take percentiles.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct Server {
    pub child: KillOnDrop,
    _dir: tempfile::TempDir,
}

pub fn memory_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The demo data is loaded by a first server process, which is then stopped: the measured
/// process is a server started on an existing database, as in production.
pub async fn start_server(port: u16, extra: &[&str]) -> Result<Server, Error> {
    let dir = tempfile::tempdir()?;
    let loader = spawn(port, &dir, true, &[])?;
    let loader = wait_healthy(port, loader).await?;
    drop(loader);
    let server = spawn(port, &dir, false, extra)?;
    let server = wait_healthy(port, server).await?;
    Ok(Server {
        child: server,
        _dir: dir,
    })
}

fn spawn(port: u16, dir: &tempfile::TempDir, demo: bool, extra: &[&str]) -> Result<Child, Error> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin = std::env::var("PRONTO_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root.join("target/release/pronto"));
    let mut command = Command::new(bin);
    command
        .arg("serve")
        .arg("--bind")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--database-url")
        .arg(format!(
            "sqlite://{}",
            dir.path().join("fanout.db").display()
        ))
        .arg("--dist")
        .arg(root.join("dist"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null());
    if demo {
        command.arg("--demo");
    }
    command.args(extra);
    Ok(command.spawn()?)
}

/// Waits for `/api/health`; the child is killed if it never answers.
async fn wait_healthy(port: u16, child: Child) -> Result<KillOnDrop, Error> {
    let child = KillOnDrop(child);
    let client = reqwest::Client::new();
    let health = format!("http://127.0.0.1:{port}/api/health");
    for _ in 0..600 {
        if client
            .get(&health)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(child);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("server did not start".into())
}

/// Signs `user` in (from client address `client`, for a server that trusts 127.0.0.1 as a
/// proxy) and returns the `pronto_sesion=…` cookie.
pub async fn session_cookie(
    base: &str,
    user: &str,
    password: &str,
    client: &str,
) -> Result<String, Error> {
    let login = reqwest::Client::new()
        .post(format!("{base}/api/auth/login"))
        .header("x-forwarded-for", client)
        .json(&serde_json::json!({"usuario": user, "contrasena": password}))
        .send()
        .await?;
    Ok(login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("pronto_sesion="))
        .and_then(|v| v.split(';').next())
        .ok_or("no session cookie")?
        .to_owned())
}
