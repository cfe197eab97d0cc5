//! Follows a Suricata EVE JSON file (`eve:///var/log/suricata/eve.json`)
//! as it grows, across rotation and truncation, and across restarts.
//!
//! - Lines: one JSON record each, handed on only once complete
//!   ([`lines::LineSplitter`]); a line over `max_message_bytes` is skipped to
//!   its newline and counted oversize.
//! - Polling, every [`POLL`]: the file is read to its end, then the path is
//!   looked at again. Polling works the same on every filesystem (inotify
//!   misses changes on NFS and some container mounts, and rotation must be
//!   checked with `stat` anyway); a quarter of a second is well within what
//!   context and alerts from an IDS need. No file-watching crate is needed.
//! - Rotation (the path names another file: logrotate `create`, Suricata
//!   reopening after SIGHUP): the old file is read on until it has not grown
//!   for a whole poll, since Suricata writes to it until it reopens; its
//!   unfinished last line, if any, is taken as it is; then the new file is
//!   read from its start.
//! - Truncation (copytruncate: the same file, now shorter than what was
//!   read): read again from the start. A file truncated and written past the
//!   old length between two polls cannot be told from one that grew; every
//!   copytruncate reader shares this, which is why `create` is the better
//!   rotation for Suricata.
//! - A missing file (not created yet, or between rotation steps) is waited
//!   for, shown in the listener's error; it is not a failure.
//! - Position: (device, inode, offset) of the last line handed to the
//!   console, saved atomically at most every [`SAVE_EVERY`], at rotation and
//!   at shutdown ([`position`]), and only once the writer says every line
//!   before it is durable ([`super::durable`]). A restart resumes there; a
//!   crash may re-read up to a second of lines (stored twice) but does not
//!   skip any.
//! - Back-pressure: a full queue makes the follower wait; nothing is dropped.

mod lines;
mod position;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::lines::{LineSplitter, Piece};
use self::position::{FileId, Position};
use super::{IngestConfig, Ingested, Listener, ListenerState, Outcome, Rejected};
use crate::codec;
use crate::model::{Format, RawMessage};
use crate::normalize::{self, Receipt};

/// How often the file is looked at when there is nothing new to read.
const POLL: Duration = Duration::from_millis(250);
/// How often, at most, the position is saved while reading.
const SAVE_EVERY: Duration = Duration::from_secs(1);
/// How long saving the position waits for the lines before it to be durable.
const FLUSH_WAIT: Duration = Duration::from_secs(5);
/// After shutdown is asked for, how long a record may still wait for room on
/// the store's queue (a store that cannot write must not hang the stop).
const STOP_WAIT: Duration = Duration::from_secs(3);
/// How much is read at once.
const CHUNK: usize = 64 * 1024;

pub(super) async fn start(
    listener: Arc<Listener>,
    config: IngestConfig,
    tx: mpsc::Sender<Ingested>,
    shutdown: CancellationToken,
    tasks: &TaskTracker,
) -> std::io::Result<()> {
    let path = listener.url().path().map(Path::to_owned).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "this listener needs a file path")
    })?;
    let positions = match &config.data_dir {
        Some(d) => {
            let dir = d.join(position::DIR);
            std::fs::create_dir_all(&dir)?;
            Some(dir)
        }
        None => {
            tracing::info!(listener = %listener.url(), "No data directory: the read position will not survive a restart.");
            None
        }
    };
    let saved = positions.as_deref().and_then(|d| position::load(d, &path));
    let follower = Follower {
        listener,
        path,
        max: config.max_message_bytes,
        tx,
        shutdown,
        runtime: Handle::current(),
        positions,
        saved,
        saved_at: Instant::now(),
        open: None,
        queued: 0,
    };
    // Reading files blocks: the follower gets a thread of its own.
    tasks.spawn_blocking(move || follower.run());
    Ok(())
}

struct Follower {
    listener: Arc<Listener>,
    path: PathBuf,
    max: usize,
    tx: mpsc::Sender<Ingested>,
    shutdown: CancellationToken,
    runtime: Handle,
    positions: Option<PathBuf>,
    /// The last position saved (or loaded).
    saved: Option<Position>,
    saved_at: Instant,
    open: Option<Open>,
    /// The offset just past the last line handed to the console, in `open`.
    queued: u64,
}

/// The file being read.
struct Open {
    file: File,
    id: FileId,
    /// Bytes read so far: the file's cursor.
    read: u64,
    lines: LineSplitter,
    /// The path was seen naming another file, when this one had been read
    /// up to here: it is read on until a look finds it has not grown since
    /// the last (a poll apart), then left.
    rotated: Option<u64>,
}

/// Why the follower stops.
struct Stop;

impl Follower {
    fn run(mut self) {
        let url = self.listener.url().clone();
        loop {
            if self.shutdown.is_cancelled() {
                break;
            }
            if self.open.is_none() {
                self.open_path();
            }
            let grew = match self.read_to_end() {
                Ok(grew) => grew,
                Err(Stop) => break,
            };
            if !grew && self.look_at_path().is_err() {
                break;
            }
            self.save(false);
            if !grew {
                let shutdown = self.shutdown.clone();
                self.runtime.block_on(async {
                    tokio::select! {
                        () = tokio::time::sleep(POLL) => {}
                        () = shutdown.cancelled() => {}
                    }
                });
            }
        }
        self.save(true);
        self.listener.set(ListenerState::Stopped, None, None);
        tracing::info!(listener = %url, offset = self.queued, "EVE follower stopped; position saved.");
    }

    /// Opens the file at the path, resuming where the saved position says.
    fn open_path(&mut self) {
        let opened = File::open(&self.path).and_then(|f| {
            let meta = f.metadata()?;
            Ok((f, meta))
        });
        let (mut file, meta) = match opened {
            Ok(o) => o,
            Err(e) => {
                let why = if e.kind() == std::io::ErrorKind::NotFound {
                    "not found".to_owned()
                } else {
                    e.to_string()
                };
                self.waiting(&why);
                return;
            }
        };
        if !meta.is_file() {
            self.waiting("not a regular file");
            return;
        }
        let id = FileId::of(&meta);
        let offset = position::resume_at(self.saved.as_ref(), id, meta.len());
        if offset > 0 {
            if let Err(e) = file.seek(SeekFrom::Start(offset)) {
                self.waiting(&e.to_string());
                return;
            }
        }
        tracing::info!(listener = %self.listener.url(), offset, size = meta.len(), "Following EVE file.");
        self.listener.set(ListenerState::Listening, None, None);
        self.queued = offset;
        self.open =
            Some(Open { file, id, read: offset, lines: LineSplitter::new(self.max, offset), rotated: None });
        // From now on a restart must find this file, not the one before a rotation.
        self.save(true);
    }

    /// Shows why the file is not being read, and keeps waiting for it.
    fn waiting(&self, why: &str) {
        let error = format!("waiting for {}: {why}", self.path.display());
        if self.listener.status().error.as_deref() != Some(error.as_str()) {
            tracing::info!(listener = %self.listener.url(), reason = why, "EVE file not readable yet; waiting for it.");
        }
        self.listener.set(ListenerState::Listening, None, Some(error));
    }

    /// Reads what the open file has gained, handing on each complete line;
    /// `true` when there was something.
    fn read_to_end(&mut self) -> Result<bool, Stop> {
        let mut buf = vec![0u8; CHUNK];
        let mut grew = false;
        let mut pieces = Vec::new();
        loop {
            if self.shutdown.is_cancelled() {
                return Err(Stop);
            }
            let Some(open) = self.open.as_mut() else { return Ok(grew) };
            let n = match open.file.read(&mut buf) {
                Ok(0) => return Ok(grew),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!(listener = %self.listener.url(), error = %e, "EVE file read failed; will retry.");
                    return Ok(grew);
                }
            };
            grew = true;
            open.read += n as u64;
            open.lines.push(&buf[..n], &mut pieces);
            for piece in pieces.drain(..) {
                self.queued = hand_on(&self.listener, &self.tx, &self.runtime, &self.shutdown, piece)?;
            }
            if self.saved_at.elapsed() >= SAVE_EVERY {
                self.save(false);
            }
        }
    }

    /// At the end of the open file: has the path been rotated or the file
    /// truncated? `Err` when the follower must stop.
    fn look_at_path(&mut self) -> Result<(), Stop> {
        let Some(open) = self.open.as_mut() else { return Ok(()) };
        let now = match std::fs::metadata(&self.path) {
            Ok(m) => Some(m),
            // Between rotation steps: the old file is still read meanwhile.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                tracing::warn!(listener = %self.listener.url(), error = %e, "Cannot look at EVE path; will retry.");
                return Ok(());
            }
        };
        match now {
            Some(meta) if FileId::of(&meta) != open.id => {
                if open.rotated != Some(open.read) {
                    // Suricata writes to the old file until it reopens: keep
                    // reading it while it grows.
                    open.rotated = Some(open.read);
                    return Ok(());
                }
                let partial = open.lines.pending();
                if let Some(piece) = open.lines.finish() {
                    tracing::warn!(listener = %self.listener.url(), bytes = partial, "Rotated EVE file ended mid-line; its last line is taken as it is.");
                    self.queued = hand_on(&self.listener, &self.tx, &self.runtime, &self.shutdown, piece)?;
                }
                tracing::info!(listener = %self.listener.url(), read = open.read, "EVE file rotated; read to its end, now reading the new one.");
                self.open = None;
                self.queued = 0;
                // Forget the old file's position: the new file starts at 0.
                self.saved = None;
            }
            Some(meta) if meta.len() < open.read => {
                let lost = open.lines.pending();
                tracing::warn!(listener = %self.listener.url(), size = meta.len(), read = open.read, partial_line_bytes = lost, "EVE file truncated; reading it again from the start.");
                if open.file.seek(SeekFrom::Start(0)).is_err() {
                    self.open = None;
                } else {
                    open.read = 0;
                    open.lines = LineSplitter::new(self.max, 0);
                }
                self.queued = 0;
                self.save(true);
            }
            _ => {
                open.rotated = None;
            }
        }
        Ok(())
    }

    /// Saves the position of the open file (every [`SAVE_EVERY`] at most,
    /// unless `now`), when it changed.
    fn save(&mut self, now: bool) {
        let (Some(dir), Some(open)) = (self.positions.as_deref(), self.open.as_ref()) else { return };
        if !now && self.saved_at.elapsed() < SAVE_EVERY {
            return;
        }
        let p =
            Position { path: self.path.to_string_lossy().into_owned(), file: open.id, offset: self.queued };
        if self.saved.as_ref() == Some(&p) {
            return;
        }
        self.saved_at = Instant::now();
        // The position may only pass lines that are durable: a crash after
        // saving it must not skip lines that were queued but not stored.
        let deadline = tokio::time::Instant::now() + FLUSH_WAIT;
        if let Err(e) = self.runtime.block_on(super::durable(&self.tx, deadline)) {
            tracing::debug!(listener = %self.listener.url(), reason = ?e, "Lines not yet durable: EVE position not saved this time.");
            return;
        }
        match position::save(dir, &self.path, &p) {
            Ok(()) => self.saved = Some(p),
            Err(e) => {
                tracing::warn!(listener = %self.listener.url(), error = %e, "EVE position not saved; a restart may read lines again.")
            }
        }
    }
}

/// Decodes one piece and queues what it gives, waiting while the queue is
/// full; returns the offset past it, or `Stop` when the console has stopped
/// (or is stopping and the store has not taken anything for [`STOP_WAIT`]:
/// the saved position then stays before the line, read again at restart).
fn hand_on(
    listener: &Listener,
    tx: &mpsc::Sender<Ingested>,
    runtime: &Handle,
    shutdown: &CancellationToken,
    piece: Piece,
) -> Result<u64, Stop> {
    let (items, end) = match piece {
        Piece::Oversize { len, end } => {
            listener.count(None, Outcome::Received);
            listener.count(None, Outcome::Oversize);
            tracing::warn!(listener = %listener.url(), bytes = len, end, "EVE line over size limit skipped.");
            return Ok(end);
        }
        // A blank line carries nothing: not a record, not counted.
        Piece::Line { bytes, end } if bytes.iter().all(u8::is_ascii_whitespace) => return Ok(end),
        Piece::Line { bytes, end } => (listener.decode_eve(&bytes), end),
    };
    for item in items {
        // Waiting here when the queue is full stops reading: back-pressure.
        let sent = runtime.block_on(async {
            tokio::select! {
                r = tx.send(item) => r.is_ok(),
                () = async { shutdown.cancelled().await; tokio::time::sleep(STOP_WAIT).await } => false,
            }
        });
        if !sent {
            listener.count_dropped(None);
            tracing::warn!(listener = %listener.url(), "Store has stopped or is not writing while stopping: EVE record not queued; it will be read again at restart.");
            return Err(Stop);
        }
    }
    Ok(end)
}

impl Listener {
    /// Decodes one EVE line: an alert, the device context it shows (none,
    /// one or two sightings), or a rejection kept raw.
    fn decode_eve(&self, line: &[u8]) -> Vec<Ingested> {
        self.count(None, Outcome::Received);
        let receipt =
            Receipt { received_at: Utc::now(), source_addr: None, listener: Some(self.url.to_string()) };
        let record = match codec::eve::parse(line) {
            Ok(r) => r,
            Err(e) => {
                self.count_rejected(None, &format!("{}: {}", e.format, e.reason));
                tracing::debug!(listener = %self.url, offset = e.offset, reason = %e.reason, "EVE line rejected; kept raw.");
                return vec![Ingested::Rejected(Rejected {
                    received_at: receipt.received_at,
                    source_addr: None,
                    listener: receipt.listener,
                    format: Some(Format::Eve),
                    error: e.to_string(),
                    raw: RawMessage(line.to_vec()),
                })];
            }
        };
        match normalize::from_eve(&record, line, &receipt) {
            Some(alert) => {
                self.count(None, Outcome::Parsed);
                vec![Ingested::Alert(alert)]
            }
            None => {
                self.count_context(None);
                normalize::context_of(&record).into_iter().map(Ingested::Context).collect()
            }
        }
    }
}
