//! Golden-byte tests of the wire codec: the exact packets ActivityManager (Android 15 and 16),
//! init and liblmkd_utils write, the replies and events they parse, and properties that
//! decoding never panics and round-trips.

use lmkd::protocol::*;
use proptest::prelude::*;

/// Big-endian words, written out by hand (not with the codec under test).
fn be(words: &[i32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_be_bytes()).collect()
}

fn encode(cmd: &Command) -> Vec<u8> {
    let mut buf = [0u8; CTRL_PACKET_MAX_SIZE];
    let n = cmd.encode(&mut buf);
    buf[..n].to_vec()
}

#[test]
fn golden_words_are_big_endian() {
    assert_eq!(be(&[1, 0x1234, -1]), vec![0, 0, 0, 1, 0, 0, 0x12, 0x34, 0xff, 0xff, 0xff, 0xff]);
}

// ---- ActivityManager (ProcessList.java) ----

#[test]
fn ams_on_connect_sequence() {
    // onLmkdConnect: PURGE, TARGET (6 pairs, 52 bytes), SUBSCRIBE KILL, SUBSCRIBE STAT.
    assert_eq!(Command::decode(&be(&[3])), Ok(Command::ProcPurge));
    let target = be(&[0, 18432, 0, 23040, 100, 27648, 200, 32256, 250, 55296, 900, 80640, 950]);
    assert_eq!(target.len(), 52);
    let Ok(Command::Target(t)) = Command::decode(&target) else { panic!("TARGET") };
    assert_eq!(
        t.pairs().collect::<Vec<_>>(),
        vec![(18432, 0), (23040, 100), (27648, 200), (32256, 250), (55296, 900), (80640, 950)]
    );
    assert_eq!(encode(&Command::Target(t)), target);
    assert_eq!(
        Command::decode(&be(&[5, 0])),
        Ok(Command::Subscribe { event: LMK_ASYNC_EVENT_KILL })
    );
    assert_eq!(
        Command::decode(&be(&[5, 1])),
        Ok(Command::Subscribe { event: LMK_ASYNC_EVENT_STAT })
    );
}

#[test]
fn ams_android15_set_oom_adj_is_16_bytes_and_means_app() {
    let pkt = be(&[1, 4321, 10057, 905]);
    assert_eq!(
        Command::decode(&pkt),
        Ok(Command::ProcPrio(ProcPrio {
            pid: 4321,
            uid: 10057,
            adj: 905,
            ptype: PROC_TYPE_APP,
            for_lmkd_only: false
        }))
    );
}

#[test]
fn ams_android16_set_oom_adj_is_24_bytes_with_for_lmkd_only() {
    let pkt = be(&[1, 4321, 10057, 905, 0, 1]);
    assert_eq!(pkt.len(), 24);
    let expect =
        ProcPrio { pid: 4321, uid: 10057, adj: 905, ptype: PROC_TYPE_APP, for_lmkd_only: true };
    assert_eq!(Command::decode(&pkt), Ok(Command::ProcPrio(expect)));
    assert_eq!(encode(&Command::ProcPrio(expect)), pkt);
    let not_only = be(&[1, 4321, 10057, 905, 0, 0]);
    let Ok(Command::ProcPrio(p)) = Command::decode(&not_only) else { panic!() };
    assert!(!p.for_lmkd_only);
}

#[test]
fn ams_android15_batch_is_three_4_field_records_in_52_bytes() {
    let pkt = be(&[11, 100, 10001, 900, 0, 101, 10002, 905, 0, 102, 10003, 999, 0]);
    assert_eq!(pkt.len(), 52);
    let Ok(Command::ProcsPrio(b)) = Command::decode(&pkt) else { panic!("PROCS_PRIO") };
    assert_eq!(b.layout(), RecordLayout::FourFields);
    let got: Vec<_> =
        b.records().iter().map(|r| (r.pid, r.uid, r.adj, r.ptype, r.for_lmkd_only)).collect();
    assert_eq!(
        got,
        vec![(100, 10001, 900, 0, false), (101, 10002, 905, 0, false), (102, 10003, 999, 0, false)]
    );
    assert_eq!(encode(&Command::ProcsPrio(b)), pkt);
}

#[test]
fn ams_android16_batch_is_three_5_field_records_in_64_bytes() {
    let pkt = be(&[11, 100, 10001, 900, 0, 0, 101, 10002, 905, 0, 0, 102, 10003, 999, 0, 0]);
    assert_eq!(pkt.len(), 64);
    let Ok(Command::ProcsPrio(b)) = Command::decode(&pkt) else { panic!("PROCS_PRIO") };
    assert_eq!(b.layout(), RecordLayout::FiveFields);
    assert_eq!(b.records().iter().map(|r| r.pid).collect::<Vec<_>>(), vec![100, 101, 102]);
    assert_eq!(b.records()[2].adj, 999);
    assert_eq!(encode(&Command::ProcsPrio(b)), pkt);
    // One and two wide records.
    let one = be(&[11, 7, 1000, 0, 0, 0]);
    let Ok(Command::ProcsPrio(b)) = Command::decode(&one) else { panic!() };
    assert_eq!((b.layout(), b.records().len()), (RecordLayout::FiveFields, 1));
    let two = be(&[11, 7, 1000, 0, 0, 0, 8, 1000, 100, 0, 0]);
    let Ok(Command::ProcsPrio(b)) = Command::decode(&two) else { panic!() };
    assert_eq!((b.layout(), b.records().len()), (RecordLayout::FiveFields, 2));
}

#[test]
fn ams_remove_killcnt_and_start_monitoring() {
    assert_eq!(Command::decode(&be(&[2, 4321])), Ok(Command::ProcRemove { pid: 4321 }));
    assert_eq!(
        Command::decode(&be(&[4, 900, 1000])),
        Ok(Command::GetKillCnt { min_adj: 900, max_adj: 1000 })
    );
    assert_eq!(Command::decode(&be(&[9])), Ok(Command::StartMonitoring));
}

// ---- init (lmkd_service.cpp) and liblmkd_utils ----

#[test]
fn init_registers_services_with_20_bytes() {
    let pkt = be(&[1, 321, 1000, -600, PROC_TYPE_SERVICE]);
    assert_eq!(pkt.len(), 20);
    let expect =
        ProcPrio { pid: 321, uid: 1000, adj: -600, ptype: PROC_TYPE_SERVICE, for_lmkd_only: false };
    assert_eq!(Command::decode(&pkt), Ok(Command::ProcPrio(expect)));
    assert_eq!(encode(&Command::ProcPrio(expect)), pkt, "the client library sends init's layout");
}

#[test]
fn liblmkd_utils_packets() {
    assert_eq!(encode(&Command::UpdateProps), be(&[7]));
    assert_eq!(encode(&Command::BootCompleted), be(&[10]));
    assert_eq!(encode(&Command::ProcRemove { pid: 55 }), be(&[2, 55]));
    assert_eq!(
        encode(&Command::GetKillCnt { min_adj: -1000, max_adj: 1000 }),
        be(&[4, -1000, 1000])
    );
    assert_eq!(encode(&Command::ProcPurge), be(&[3]));
    assert_eq!(encode(&Command::StartMonitoring), be(&[9]));
    assert_eq!(encode(&Command::Subscribe { event: 1 }), be(&[5, 1]));
    let two = ProcsPrio::new(
        RecordLayout::FourFields,
        &[
            ProcPrio { pid: 1, uid: 2, adj: 3, ptype: 0, for_lmkd_only: false },
            ProcPrio { pid: 4, uid: 5, adj: 6, ptype: 1, for_lmkd_only: false },
        ],
    )
    .unwrap();
    assert_eq!(encode(&Command::ProcsPrio(two)), be(&[11, 1, 2, 3, 0, 4, 5, 6, 1]));
}

// ---- replies and events ----

#[test]
fn replies_are_eight_bytes() {
    assert_eq!(encode_reply(LMK_GETKILLCNT, 42).to_vec(), be(&[4, 42]));
    assert_eq!(encode_reply(LMK_UPDATE_PROPS, -1).to_vec(), be(&[7, -1]));
    assert_eq!(encode_reply(LMK_BOOT_COMPLETED, 1).to_vec(), be(&[10, 1]));
    assert_eq!(ServerMessage::decode(&be(&[4, 42])), Some(ServerMessage::KillCount(42)));
    assert_eq!(ServerMessage::decode(&be(&[7, 0])), Some(ServerMessage::UpdateProps(0)));
    assert_eq!(ServerMessage::decode(&be(&[10, -1])), Some(ServerMessage::BootCompleted(-1)));
    assert_eq!(ServerMessage::decode(&be(&[4, 42, 0])), None, "a reply must be exactly 8 bytes");
}

#[test]
fn prockill_is_16_bytes_and_the_legacy_12_still_decodes() {
    let k = ProcKill { pid: 4321, uid: 10057, rss_kb: 123_456 };
    assert_eq!(k.encode().to_vec(), be(&[6, 4321, 10057, 123_456]));
    assert_eq!(
        ServerMessage::decode(&be(&[6, 4321, 10057, 123_456])),
        Some(ServerMessage::ProcKill(k))
    );
    assert_eq!(
        ServerMessage::decode(&be(&[6, 4321, 10057])),
        Some(ServerMessage::ProcKill(ProcKill { pid: 4321, uid: 10057, rss_kb: 0 }))
    );
}

#[test]
fn stat_kill_occurred_layout() {
    let mut s = KillStat {
        pgfault: 0x0102_0304_0506_0708,
        pgmajfault: 2,
        rss_bytes: 300 << 20,
        cache_bytes: 0,
        swap_bytes: 4096,
        process_start_time_ns: 5_000_000_000,
        uid: 10057,
        oom_score: 905,
        min_oom_score: 701,
        free_mem_kb: 65536,
        free_swap_kb: 1024,
        kill_reason: 8,
        thrashing: 12,
        max_thrashing: 40,
        ..KillStat::default()
    };
    s.set_name(b"com.example.app");
    let mut buf = [0u8; LMKD_REPLY_MAX_SIZE];
    let n = s.encode(&mut buf);
    assert_eq!(n, 87 + 15);
    let mut expect = be(&[8]);
    for v in [0x0102_0304_0506_0708i64, 2, 300 << 20, 0, 4096, 5_000_000_000] {
        expect.extend_from_slice(&v.to_be_bytes());
    }
    expect.extend(be(&[10057, 905, 701, 65536, 1024, 8, 12, 40]));
    expect.extend_from_slice(&15u16.to_be_bytes());
    expect.extend_from_slice(b"com.example.app\0");
    assert_eq!(buf[..n].to_vec(), expect);
    assert_eq!(&expect[84..86], &[0, 15], "u16 name length at offset 84");
    assert_eq!(KillStat::decode(&buf[..n]), Some(s));
}

#[test]
fn stat_names_are_cut_for_javas_read_utf() {
    let mut s = KillStat::default();
    s.set_name(&[b'a'; 200]);
    assert_eq!(s.name().len(), STAT_NAME_MAX);
    // A 2-byte character that would straddle the limit is left out entirely.
    let mut name = vec![b'b'; 126];
    name.extend_from_slice("é".as_bytes());
    s.set_name(&name);
    assert_eq!(s.name(), &[b'b'; 126][..]);
    // 4-byte sequences (not modified UTF-8) and stray bytes become '?'.
    s.set_name("a😀b\u{e9}".as_bytes());
    assert_eq!(s.name(), "a?b\u{e9}".as_bytes());
    s.set_name(&[b'x', 0xff, b'y']);
    assert_eq!(s.name(), b"x?y");
}

// ---- framing errors ----

#[test]
fn framing_errors_name_aosps_log_lines() {
    assert_eq!(Command::decode(&[]), Err(DecodeError::TooShort { len: 0 }));
    assert_eq!(Command::decode(&[0, 0, 0]), Err(DecodeError::TooShort { len: 3 }));
    assert_eq!(Command::decode(&[0, 0, 0, 3, 0]), Err(DecodeError::Misaligned { len: 5 }));
    assert_eq!(Command::decode(&be(&[1, 2, 3])), Err(DecodeError::WrongLength { cmd: 1, len: 12 }));
    assert_eq!(
        Command::decode(&be(&[1, 1, 2, 3, 4, 5, 6])),
        Err(DecodeError::WrongLength { cmd: 1, len: 28 })
    );
    assert_eq!(Command::decode(&be(&[0, 1])), Err(DecodeError::WrongLength { cmd: 0, len: 8 }));
    assert_eq!(Command::decode(&be(&[2])), Err(DecodeError::WrongLength { cmd: 2, len: 4 }));
    assert_eq!(Command::decode(&be(&[3, 0])), Err(DecodeError::WrongLength { cmd: 3, len: 8 }));
    assert_eq!(
        Command::decode(&be(&[11, 1, 2, 3])),
        Err(DecodeError::WrongLength { cmd: 11, len: 16 })
    );
    assert_eq!(
        Command::decode(&be(&[11, 1, 2, 3, 4, 5, 6])),
        Err(DecodeError::WrongLength { cmd: 11, len: 28 })
    );
    assert_eq!(Command::decode(&be(&[12])), Err(DecodeError::UnknownCommand { cmd: 12 }));
    assert_eq!(Command::decode(&be(&[-1])), Err(DecodeError::UnknownCommand { cmd: -1 }));
    assert_eq!(Command::decode(&be(&[6, 1, 2, 3])), Err(DecodeError::Unexpected { cmd: 6 }));
    assert_eq!(Command::decode(&be(&[8])), Err(DecodeError::Unexpected { cmd: 8 }));
    assert_eq!(Command::decode(&[0; 68]), Err(DecodeError::Oversized { len: 68 }));
    let msg = DecodeError::WrongLength { cmd: 1, len: 12 }.to_string();
    assert_eq!(msg, "Wrong control socket read length cmd=1 len=12");
    assert_eq!(
        DecodeError::UnknownCommand { cmd: 12 }.to_string(),
        "Received unknown command code 12"
    );
}

#[test]
fn target_with_zero_pairs_decodes_and_seven_pairs_do_not() {
    let Ok(Command::Target(t)) = Command::decode(&be(&[0])) else { panic!() };
    assert!(t.is_empty());
    let mut seven = vec![0];
    seven.extend([1; 14]);
    assert_eq!(Command::decode(&be(&seven)), Err(DecodeError::WrongLength { cmd: 0, len: 60 }));
}

// ---- properties ----

fn arb_prio() -> impl Strategy<Value = ProcPrio> {
    (any::<i32>(), any::<i32>(), any::<i32>(), any::<i32>(), any::<bool>()).prop_map(
        |(pid, uid, adj, ptype, for_lmkd_only)| ProcPrio { pid, uid, adj, ptype, for_lmkd_only },
    )
}

fn arb_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        proptest::collection::vec((any::<i32>(), any::<i32>()), 0..=MAX_TARGETS)
            .prop_map(|p| Command::Target(TargetTable::new(&p).unwrap())),
        arb_prio().prop_map(Command::ProcPrio),
        any::<i32>().prop_map(|pid| Command::ProcRemove { pid }),
        Just(Command::ProcPurge),
        (any::<i32>(), any::<i32>())
            .prop_map(|(min_adj, max_adj)| Command::GetKillCnt { min_adj, max_adj }),
        any::<i32>().prop_map(|event| Command::Subscribe { event }),
        Just(Command::UpdateProps),
        Just(Command::StartMonitoring),
        Just(Command::BootCompleted),
        proptest::collection::vec(arb_prio(), 1..=PROCS_PRIO_MAX_RECORDS).prop_map(|r| {
            Command::ProcsPrio(ProcsPrio::new(RecordLayout::FourFields, &r).unwrap())
        }),
        proptest::collection::vec(arb_prio(), 1..=PROCS_PRIO_MAX_WIDE_RECORDS).prop_map(|r| {
            Command::ProcsPrio(ProcsPrio::new(RecordLayout::FiveFields, &r).unwrap())
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Command::decode(&bytes);
        let _ = ServerMessage::decode(&bytes);
        let _ = KillStat::decode(&bytes);
    }

    #[test]
    fn decoding_arbitrary_words_never_panics(words in proptest::collection::vec(any::<i32>(), 0..20), cmd in 0i32..13) {
        let mut w = vec![cmd];
        w.extend(words);
        let _ = Command::decode(&be(&w));
    }

    #[test]
    fn decode_of_encode_is_identity(cmd in arb_command()) {
        let bytes = encode(&cmd);
        prop_assert_eq!(Command::decode(&bytes), Ok(cmd));
    }

    #[test]
    fn kill_stat_round_trips(uid in any::<i32>(), adj in -1000i32..=1000, rss in any::<i64>(), name in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut s = KillStat { uid, oom_score: adj, rss_bytes: rss, ..KillStat::default() };
        s.set_name(&name);
        prop_assert!(std::str::from_utf8(s.name()).is_ok());
        let mut buf = [0u8; LMKD_REPLY_MAX_SIZE];
        let n = s.encode(&mut buf);
        prop_assert!(n <= 214);
        prop_assert_eq!(KillStat::decode(&buf[..n]), Some(s));
    }
}

/// AOSP's 2025 `LMKD_REPLY_MAX_SIZE` (214): the longest `LMK_STAT_KILL_OCCURRED` fills it
/// exactly, and a longer name is cut to fit.
#[test]
fn the_longest_kill_stat_is_214_bytes() {
    assert_eq!(LMKD_REPLY_MAX_SIZE, 214);
    let mut s = KillStat::default();
    s.set_name(&[b'a'; 400]);
    let mut buf = [0u8; LMKD_REPLY_MAX_SIZE];
    assert_eq!(s.encode(&mut buf), 214);
    assert_eq!(s.name().len(), 127);
}
