//! The command handler: connections, packets in, registry updates and replies out.
//!
//! It serves what concerns only the registry and the protocol (`LMK_PROCPRIO`, `LMK_TARGET`,
//! `LMK_GETKILLCNT`, subscriptions, ...) itself, and hands what concerns the pressure engine or
//! the kill pipeline to the loop as a [`Request`], in order, between two packets of the same
//! connection.

use std::time::{Duration, Instant};

use log::{error, info, warn};
use rustix::event::epoll::EventFlags;

use super::Core;
use crate::config::parse_bool;
use crate::kill::{KillContext, ReasonText};
use crate::procs::{PrioOutcome, RecordId, OOM_SCORE_ADJ_MAX, OOM_SCORE_ADJ_MIN};
use crate::protocol::ext::{
    encode_procs_reply, ExtCommand, ProcEntry, KILL_NOT_OWNER, KILL_NOT_REGISTERED,
    KILL_UID_MISMATCH, LMK_EXT_KILL,
};
use crate::protocol::{
    encode_reply, Command, DecodeError, Incoming, ProcPrio, TargetTable, EXT_BASE,
    LMK_ASYNC_EVENT_KILL, LMK_ASYNC_EVENT_STAT, LMK_BOOT_COMPLETED, LMK_GETKILLCNT,
    RECV_BUFFER_SIZE,
};
use crate::ratelimit::limited;
use crate::sys::Creds;

/// `TARGET_UPDATE_MIN_INTERVAL_MS`: AOSP ignores `LMK_TARGET`s closer together than this.
pub const TARGET_UPDATE_MIN_INTERVAL: Duration = Duration::from_millis(1000);
/// `PROPERTY_VALUE_MAX - 1`: longest value of `sys.lmk.minfree_levels`.
const PROPERTY_VALUE_MAX_LEN: usize = 91;
/// Messages read from one connection per wakeup, so that a flooding client cannot starve the
/// others (epoll is level-triggered: the rest is read on the next round).
const MESSAGES_PER_WAKEUP: usize = 16;

/// What a packet asks of the pressure engine or the kill pipeline.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Request {
    /// `LMK_UPDATE_PROPS` (the reply carries the result).
    UpdateProps,
    /// `LMK_START_MONITORING`, boot having completed.
    StartMonitoring,
    /// `LMK_BOOT_COMPLETED`, handled now: set up the memevents listener.
    StartMemevents,
    /// `LMK_EXT_TEST_PRESSURE`.
    TestPressure(i32),
    /// `LMK_EXT_TEST_STALL`: keep the loop busy this long (on a fake clock: move it).
    TestStall(Duration),
    /// `LMK_EXT_STATUS`.
    Status {
        /// JSON rather than text.
        json: bool,
    },
    /// `LMK_EXT_KILL_HISTORY`.
    KillHistory,
    /// `LMK_EXT_KILL`, allowed: kill this record (the reply carries the result).
    Kill {
        /// The record.
        id: RecordId,
        /// The pid asked for (for the reply).
        pid: i32,
        /// The report's context.
        ctx: KillContext,
    },
}

/// The command handler's state.
#[derive(Debug)]
pub(crate) struct Commands {
    last_target_update: Option<Instant>,
    boot_completed_handled: bool,
    test_hooks: bool,
}

impl Commands {
    /// A handler; `test_hooks` accepts the test-only commands.
    pub fn new(test_hooks: bool) -> Commands {
        Commands { last_target_update: None, boot_completed_handled: false, test_hooks }
    }

    /// A new connection on the listener.
    pub fn on_accept(&mut self, core: &mut Core) {
        match core.server.accept(&core.poller) {
            Ok(Some(evicted)) => {
                for pid in evicted.into_iter().flatten() {
                    core.procs.unclaim(pid);
                }
            }
            Ok(None) => {}
            Err(e) => error!("lmkd control socket accept failed: {e}"),
        }
    }

    /// A connection is ready: flush, read up to [`MESSAGES_PER_WAKEUP`] packets (all of them
    /// after a hang-up), close on hang-up. `serve` answers the [`Request`]s, in order.
    pub fn on_conn(
        &mut self,
        core: &mut Core,
        slot: usize,
        flags: EventFlags,
        serve: &mut dyn FnMut(&mut Core, usize, Request),
    ) {
        if flags.contains(EventFlags::OUT) {
            core.server.flush(slot, &core.poller);
        }
        let hangup = flags.intersects(EventFlags::HUP | EventFlags::RDHUP | EventFlags::ERR);
        // After a hang-up, read what the client sent before it left, then close.
        let budget = if hangup { usize::MAX } else { MESSAGES_PER_WAKEUP };
        if flags.contains(EventFlags::IN) || hangup {
            let mut buf = [0u8; RECV_BUFFER_SIZE];
            for _ in 0..budget {
                match core.server.recv(slot, &mut buf) {
                    Incoming::Message { len, creds } => {
                        if let Some(req) = self.on_packet(core, slot, creds, &buf[..len]) {
                            serve(core, slot, req);
                        }
                    }
                    Incoming::Oversized { len } => {
                        limited!(error, "{}", DecodeError::Oversized { len });
                    }
                    Incoming::NoCredentials => {
                        error!("Failed to retrieve sender credentials");
                        core.close_conn(slot);
                        return;
                    }
                    Incoming::Closed => {
                        info!("lmkd data connection dropped");
                        core.close_conn(slot);
                        return;
                    }
                    Incoming::Drained => break,
                }
                if core.server.conn(slot).is_none() {
                    return;
                }
            }
        }
        if hangup && core.server.conn(slot).is_some() {
            info!("lmkd data connection dropped");
            core.close_conn(slot);
        }
    }

    /// One message from a client.
    fn on_packet(
        &mut self,
        core: &mut Core,
        slot: usize,
        creds: Creds,
        packet: &[u8],
    ) -> Option<Request> {
        let cmd = match Command::decode(packet) {
            Ok(cmd) => cmd,
            Err(DecodeError::UnknownCommand { cmd }) if cmd >= EXT_BASE => {
                return match ExtCommand::decode(packet) {
                    Ok(ext) => self.on_ext(core, slot, creds, ext),
                    Err(e) => {
                        limited!(error, "{e}");
                        None
                    }
                };
            }
            Err(e) => {
                limited!(error, "{e}");
                return None;
            }
        };
        match cmd {
            Command::Target(t) => self.on_target(core, t),
            Command::ProcPrio(p) => on_proc_prio(core, &p, creds),
            Command::ProcsPrio(batch) => {
                // Not atomic, as AOSP: a bad record is skipped, the others are applied.
                for p in batch.records() {
                    on_proc_prio(core, p, creds);
                }
            }
            Command::ProcRemove { pid } => {
                core.procs.remove_pid(pid, creds.pid, &mut core.poller);
            }
            Command::ProcPurge => {
                core.procs.purge(creds.pid, &mut core.poller);
            }
            Command::GetKillCnt { min_adj, max_adj } => {
                let n = core.procs.registry().kill_count(min_adj, max_adj);
                core.reply(
                    slot,
                    &encode_reply(LMK_GETKILLCNT, i32::try_from(n).unwrap_or(i32::MAX)),
                );
            }
            Command::Subscribe { event } => on_subscribe(core, slot, event),
            Command::UpdateProps => return Some(Request::UpdateProps),
            Command::StartMonitoring => return self.on_start_monitoring(core),
            Command::BootCompleted => {
                let result = self.on_boot_completed(core);
                core.reply(slot, &encode_reply(LMK_BOOT_COMPLETED, result));
                if result == 0 {
                    return Some(Request::StartMemevents);
                }
            }
        }
        None
    }

    /// One of this project's extension commands.
    fn on_ext(
        &mut self,
        core: &mut Core,
        slot: usize,
        creds: Creds,
        cmd: ExtCommand,
    ) -> Option<Request> {
        match cmd {
            ExtCommand::Procs => {
                let entries = {
                    let reg = core.procs.registry();
                    let mut entries = Vec::with_capacity(reg.len());
                    for adj in (OOM_SCORE_ADJ_MIN..=OOM_SCORE_ADJ_MAX).rev() {
                        entries.extend(reg.iter_adj(adj).map(|(_, r)| ProcEntry {
                            pid: r.pid,
                            uid: r.uid,
                            adj: r.adj(),
                            ptype: r.ptype,
                            owner: r.owner,
                        }));
                    }
                    entries
                };
                for packet in encode_procs_reply(&entries) {
                    core.reply(slot, &packet);
                }
                None
            }
            ExtCommand::TestStall { .. }
            | ExtCommand::TestPanic
            | ExtCommand::TestFaults(_)
            | ExtCommand::TestPressure { .. }
                if !self.test_hooks =>
            {
                limited!(warn, "client {} sent a test-only command; ignored", creds.pid);
                None
            }
            ExtCommand::TestStall { ms } => {
                warn!("test hook: stalling the loop for {ms} ms");
                Some(Request::TestStall(Duration::from_millis(u64::try_from(ms).unwrap_or(0))))
            }
            ExtCommand::TestPanic => panic!("test hook: panicking on request"),
            ExtCommand::TestFaults(spec) => {
                crate::fault::install_logged(&spec);
                None
            }
            ExtCommand::TestPressure { level } => Some(Request::TestPressure(level)),
            ExtCommand::Status { json } => Some(Request::Status { json }),
            ExtCommand::KillHistory => Some(Request::KillHistory),
            ExtCommand::Kill { pid, uid, reason } => {
                match self.allow_kill(core, creds, pid, uid, reason) {
                    Ok(req) => Some(req),
                    Err(code) => {
                        reply_kill(core, slot, pid, code);
                        None
                    }
                }
            }
        }
    }

    /// `LMK_EXT_KILL`: only the client that registered a process may ask for its kill. A record
    /// whose client left is claimed, as `LMK_PROCPRIO` claims it (any client could claim it that
    /// way first, so this gives no client more power). A refusal changes nothing.
    fn allow_kill(
        &mut self,
        core: &mut Core,
        creds: Creds,
        pid: i32,
        uid: i32,
        reason: i32,
    ) -> Result<Request, i32> {
        let mut reg = core.procs.registry();
        let Some(id) = reg.lookup(pid) else {
            limited!(
                warn,
                "client {} asked to kill pid {pid}, which is not registered; refused",
                creds.pid
            );
            return Err(KILL_NOT_REGISTERED);
        };
        let rec = reg.get(id).expect("looked up");
        if rec.owner != 0 && rec.owner != creds.pid {
            limited!(
                warn,
                "client {} asked to kill pid {pid}, registered by client {}; refused",
                creds.pid,
                rec.owner
            );
            return Err(KILL_NOT_OWNER);
        }
        if rec.uid != uid {
            limited!(
                warn,
                "client {} asked to kill pid {pid} as uid {uid}, registered as uid {}; refused",
                creds.pid,
                rec.uid
            );
            return Err(KILL_UID_MISMATCH);
        }
        let adj = rec.adj();
        reg.claim(id, creds.pid);
        let ctx = KillContext {
            min_adj: adj,
            reason_text: ReasonText::format(format_args!(
                "requested by client {} (reason {reason})",
                creds.pid
            )),
            requested_by: creds.pid,
            client_reason: reason,
            ..KillContext::default()
        };
        Ok(Request::Kill { id, pid, ctx })
    }

    fn on_target(&mut self, core: &mut Core, t: TargetTable) {
        if t.is_empty() {
            return;
        }
        let now = core.clock.now();
        if self
            .last_target_update
            .is_some_and(|last| now.saturating_duration_since(last) < TARGET_UPDATE_MIN_INTERVAL)
        {
            // AOSP's text, misspelt as AOSP spells it (tools grep for it).
            limited!(error, "Ignoring frequent updated to lmkd limits");
            return;
        }
        self.last_target_update = Some(now);
        core.target = t;
        let value = minfree_levels_value(&t);
        if let Err(e) = core.props.set("sys.lmk.minfree_levels", &value) {
            warn!("failed to set sys.lmk.minfree_levels: {e}");
        }
    }

    fn on_start_monitoring(&mut self, core: &Core) -> Option<Request> {
        if !boot_completed(core) {
            limited!(error, "LMK_START_MONITORING cannot be handled before boot completed");
            return None;
        }
        Some(Request::StartMonitoring)
    }

    /// `LMK_BOOT_COMPLETED`: 0 done now, 1 done before, −1 boot not completed yet.
    fn on_boot_completed(&mut self, core: &Core) -> i32 {
        if self.boot_completed_handled {
            return 1;
        }
        if !boot_completed(core) {
            limited!(error, "LMK_BOOT_COMPLETED cannot be handled before boot completed");
            return -1;
        }
        // The memevents listener is set up by the engine (Request::StartMemevents); it logs
        // "Using memevents…" or "Using vmstats…".
        self.boot_completed_handled = true;
        0
    }
}

/// Whether `sys.boot_completed` is set.
pub(crate) fn boot_completed(core: &Core) -> bool {
    core.props.get("sys.boot_completed").and_then(|v| parse_bool(&v)).unwrap_or(false)
}

/// The `LMK_EXT_KILL` reply: the pid and the result code.
pub(crate) fn reply_kill(core: &mut Core, slot: usize, pid: i32, result: i32) {
    let mut reply = [0u8; 12];
    for (i, w) in [LMK_EXT_KILL, pid, result].iter().enumerate() {
        reply[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
    }
    core.reply(slot, &reply);
}

fn on_proc_prio(core: &mut Core, p: &ProcPrio, creds: Creds) {
    let outcome = core.procs.apply_prio(p, creds.pid, creds.uid, &mut core.poller);
    if let PrioOutcome::Registered(_) | PrioOutcome::Updated(_) = outcome {
        log::trace!("pid {} uid {} now at adj {}", p.pid, p.uid, p.adj);
    }
}

fn on_subscribe(core: &mut Core, slot: usize, event: i32) {
    // AOSP shifted by the unchecked event type (quirk 8); only the two real ones count.
    if event != LMK_ASYNC_EVENT_KILL && event != LMK_ASYNC_EVENT_STAT {
        limited!(error, "Invalid LMK_SUBSCRIBE event type {event}; ignored");
        return;
    }
    if let Some(conn) = core.server.conn_mut(slot) {
        conn.subscriptions |= 1 << event;
    }
}

/// The value of `sys.lmk.minfree_levels`: `minfree:adj` pairs joined by commas, cut to
/// `PROPERTY_VALUE_MAX - 1` characters.
pub fn minfree_levels_value(t: &TargetTable) -> String {
    let mut s = String::new();
    for (i, (minfree, adj)) in t.pairs().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!("{minfree}:{adj}"));
    }
    s.truncate(PROPERTY_VALUE_MAX_LEN);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minfree_levels_as_activitymanager_sees_them() {
        let t = TargetTable::new(&[
            (18432, 0),
            (23040, 100),
            (27648, 200),
            (32256, 250),
            (55296, 900),
            (80640, 950),
        ])
        .unwrap();
        assert_eq!(
            minfree_levels_value(&t),
            "18432:0,23040:100,27648:200,32256:250,55296:900,80640:950"
        );
        let long = TargetTable::new(&[(i32::MIN, i32::MIN); 6]).unwrap();
        assert_eq!(minfree_levels_value(&long).len(), PROPERTY_VALUE_MAX_LEN);
    }
}
