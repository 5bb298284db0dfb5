//! Child processes listening on loopback ports the harness picks.
//!
//! A port that was free when picked can be taken by a parallel test before the child binds it.
//! A bare connect check would then pass on the other test's listener while the child failed, so
//! a child counts as up only once it holds the listening socket itself: `/proc/net/tcp` names
//! the listener's socket inode and the child's `/proc/PID/fd` must hold that inode.

use std::net::TcpListener;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Spawns `command(port)` on a fresh free port until a child holds its port.
pub fn spawn_listening(what: &str, mut command: impl FnMut(u16) -> Command) -> (Child, u16) {
    const ATTEMPTS: usize = 5;
    for _ in 0..ATTEMPTS {
        let port = free_port();
        let mut child = command(port)
            .spawn()
            .unwrap_or_else(|e| panic!("start {what}: {e}"));
        match wait_listening(&mut child, port, what) {
            Ok(()) => return (child, port),
            Err(PortTaken) => stop(&mut child),
        }
    }
    panic!("{what}: every one of {ATTEMPTS} free ports was taken before it could listen");
}

/// Someone else listens on the port, or the child exited (as it does when its bind fails).
#[derive(Debug)]
pub struct PortTaken;

/// Waits until `child` listens on 127.0.0.1:`port`.
pub fn wait_listening(child: &mut Child, port: u16, what: &str) -> Result<(), PortTaken> {
    const PATIENCE: Duration = Duration::from_secs(20);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let listeners = listener_inodes(port);
        if !listeners.is_empty() {
            let held = held_sockets(child.id());
            return match listeners.iter().any(|inode| held.contains(inode)) {
                true => Ok(()),
                false => Err(PortTaken),
            };
        }
        if child.try_wait().ok().flatten().is_some() {
            return Err(PortTaken);
        }
        if Instant::now() > deadline {
            stop(child);
            panic!("{what} did not listen on {port} within {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Inodes of the sockets listening on `port`, over IPv4 and IPv6 (a wildcard IPv6 listener
/// blocks 127.0.0.1 too).
fn listener_inodes(port: u16) -> Vec<String> {
    const LISTEN: &str = "0A";
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|table| {
            table
                .lines()
                .skip(1)
                .filter_map(|line| {
                    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    let (_, local_port) = fields.get(1)?.rsplit_once(':')?;
                    let listening = *fields.get(3)? == LISTEN
                        && u16::from_str_radix(local_port, 16).ok()? == port;
                    listening.then(|| fields.get(9).map(|inode| inode.to_string()))?
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Socket inodes among the open files of process `pid`.
fn held_sockets(pid: u32) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy();
            let inode = target.strip_prefix("socket:[")?.strip_suffix(']')?;
            Some(inode.to_owned())
        })
        .collect()
}

#[test]
fn a_port_held_by_another_process_is_not_taken_for_the_childs() {
    let held = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = held.local_addr().expect("addr").port();
    let mut child = Command::new("sleep").arg("30").spawn().expect("sleep");
    let outcome = wait_listening(&mut child, port, "sleep");
    stop(&mut child);
    assert!(
        outcome.is_err(),
        "this process's listener was counted as the child's"
    );
}

#[test]
fn a_child_is_up_once_it_holds_its_port() {
    let (mut child, port) = spawn_listening("python http.server", |port| {
        let mut command = Command::new("python3");
        command
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        command
    });
    let reached = std::net::TcpStream::connect(("127.0.0.1", port));
    stop(&mut child);
    assert!(reached.is_ok());
}
