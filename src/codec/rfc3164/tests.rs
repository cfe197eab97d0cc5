use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::{parse, BsdMessage};

/// When the messages below were received, unless a test says otherwise.
const RECEIVED: &str = "2025-01-02T03:04:05Z";

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).map(|t| t.to_utc()).unwrap_or_default()
}

/// The parts that were found, one `key=value` each, the message last.
fn render(m: &BsdMessage) -> String {
    let mut parts = Vec::new();
    if let Some(p) = m.priority {
        parts.push(format!("pri={p}"));
    }
    if let Some(s) = m.sequence {
        parts.push(format!("seq={s}"));
    }
    if let Some(t) = m.timestamp {
        parts.push(format!("ts={}", t.to_rfc3339_opts(SecondsFormat::AutoSi, true)));
    }
    for (key, value) in [("host", &m.hostname), ("tag", &m.appname), ("pid", &m.procid), ("msg", &m.message)]
    {
        if let Some(v) = value {
            parts.push(format!("{key}={v}"));
        }
    }
    parts.join(" ")
}

/// Parses `input` as received at `received` and compares what was found
/// with `expected`, or with `error@OFFSET: reason` for a rejection.
#[track_caller]
fn check_at(received: &str, input: &[u8], expected: &str) {
    let got = match parse(input, at(received)) {
        Ok(m) => render(&m),
        Err(e) => format!("error@{}: {}", e.offset, e.reason),
    };
    assert_eq!(got, expected, "input {:?}", String::from_utf8_lossy(input));
}

#[track_caller]
fn check(input: &[u8], expected: &str) {
    check_at(RECEIVED, input, expected);
}

#[test]
fn rfc3164_examples() {
    // RFC 3164 section 5.4, examples 1 to 4 (see the module docs for 3 and 4).
    check(
        b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
        "pri=34 ts=2024-10-11T22:14:15Z host=mymachine tag=su msg='su root' failed for lonvick on /dev/pts/8",
    );
    check(
        b"<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!",
        "pri=13 ts=2024-02-05T17:32:18Z host=10.0.0.99 msg=Use the BFG!",
    );
    check(
        b"<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nuts.  %%  Ingredients: Mix=OK, Jelly=OK # Devices: Mixer=OK, Jelly_Injector=OK, Frier=OK # Transport: Conveyer1=OK, Conveyer2=OK # %%",
        "pri=165 ts=1987-08-24T05:34:00Z host=mymachine tag=myproc pid=10 msg=%% It's time to make the do-nuts.  %%  Ingredients: Mix=OK, Jelly=OK # Devices: Mixer=OK, Jelly_Injector=OK, Frier=OK # Transport: Conveyer1=OK, Conveyer2=OK # %%",
    );
    check(
        b"<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!",
        "pri=0 ts=1990-10-22T10:52:01Z host=scapegoat.dmz.example.org msg=10.1.2.3 sched[0]: That's All Folks!",
    );
}

#[test]
fn priority_is_optional_and_the_header_too() {
    check(b"plain line from a file", "msg=plain line from a file");
    check(b"Feb  5 17:32:18 host su: no PRI", "ts=2024-02-05T17:32:18Z host=host tag=su msg=no PRI");
    check(b"<14>pump-bridge lost contact\0", "pri=14 msg=pump-bridge lost contact");
    check(b"<14>bridge: lost contact\0", "pri=14 tag=bridge msg=lost contact");
    check(b"<14>two NULs\0\0", "pri=14 msg=two NULs\0");
    check(b"<13>", "pri=13");
    check(b"<0>x", "pri=0 msg=x");
    check(b"<191>x", "pri=191 msg=x");
    check(b"<013>leading zero", "pri=13 msg=leading zero");
    check(b"<13> leading space", "pri=13 msg= leading space");
    check(b"<13>Feb  5 17:32:18 host", "pri=13 ts=2024-02-05T17:32:18Z msg=host");
    check(b"<13>Feb  5 17:32:18", "pri=13 ts=2024-02-05T17:32:18Z");
}

#[test]
fn facility_and_severity_come_from_pri() {
    let m = parse(b"<165>x", at(RECEIVED)).map(|m| (m.facility, m.severity));
    assert_eq!(m, Ok((Some(20), Some(5))));
    let m = parse(b"x", at(RECEIVED)).map(|m| (m.priority, m.facility, m.severity));
    assert_eq!(m, Ok((None, None, None)));
}

#[test]
fn bsd_timestamps() {
    check(b"<13>Feb  5 17:32:18 h t: m", "pri=13 ts=2024-02-05T17:32:18Z host=h tag=t msg=m");
    check(b"<13>Feb 05 17:32:18 h t: m", "pri=13 ts=2024-02-05T17:32:18Z host=h tag=t msg=m");
    check(b"<13>Feb 5 17:32:18 h t: m", "pri=13 ts=2024-02-05T17:32:18Z host=h tag=t msg=m");
    check(b"<13>FEB  5 17:32:18 h t: m", "pri=13 ts=2024-02-05T17:32:18Z host=h tag=t msg=m");
    check(b"<13>Dec 24 17:32:18.5 h t: m", "pri=13 ts=2024-12-24T17:32:18.500Z host=h tag=t msg=m");
    check(
        b"<13>Dec 24 17:32:18.123456789123 h t: m",
        "pri=13 ts=2024-12-24T17:32:18.123456789Z host=h tag=t msg=m",
    );
    check(b"<13>Dec 31 23:59:60 h t: m", "pri=13 ts=2024-12-31T23:59:60Z host=h tag=t msg=m");
    check(b"<13>Dec 24 17:32:18. h t: m", "pri=13 msg=Dec 24 17:32:18. h t: m");
    check(b"<13>Feb 30 17:32:18 h t: m", "pri=13 msg=Feb 30 17:32:18 h t: m");
    check(b"<13>Feb  5 25:32:18 h t: m", "pri=13 msg=Feb  5 25:32:18 h t: m");
    check(b"<13>Feb  5 17:32 h t: m", "pri=13 msg=Feb  5 17:32 h t: m");
    check(b"<13>Foo  5 17:32:18 h t: m", "pri=13 msg=Foo  5 17:32:18 h t: m");
    check(b"<13>Feb  5 17:32:18x h t: m", "pri=13 msg=Feb  5 17:32:18x h t: m");
}

#[test]
fn timestamps_with_a_year_or_a_zone() {
    check(b"<13>Jan 05 2024 10:00:00 h t: m", "pri=13 ts=2024-01-05T10:00:00Z host=h tag=t msg=m");
    check(b"<13>2019 Jan 05 10:00:00 h t: m", "pri=13 ts=2019-01-05T10:00:00Z host=h tag=t msg=m");
    check(b"<13>Jan 05 10:00:00 2019 h t: m", "pri=13 ts=2019-01-05T10:00:00Z host=h tag=t msg=m");
    check(b"<13>Feb 29 2023 10:00:00 h t: m", "pri=13 msg=Feb 29 2023 10:00:00 h t: m");
    check(b"<13>Jan 05 10:00:00 UTC h t: m", "pri=13 ts=2025-01-05T10:00:00Z host=h tag=t msg=m");
    // Zones are recognised, not applied: the time stays UTC.
    check(b"<13>Jan 05 10:00:00 CET h t: m", "pri=13 ts=2025-01-05T10:00:00Z host=h tag=t msg=m");
    check(b"<13>Jan 05 10:00:00 GMT+1 h t: m", "pri=13 ts=2025-01-05T10:00:00Z host=h tag=t msg=m");
    check(b"<13>Jan 05 10:00:00 UTC+05:30 h t: m", "pri=13 ts=2025-01-05T10:00:00Z host=h tag=t msg=m");
    // An upper-case word that is no known zone is the hostname.
    check(b"<13>Jan 05 10:00:00 ICU t: m", "pri=13 ts=2025-01-05T10:00:00Z host=ICU tag=t msg=m");
    check(b"<13>Jan 05 10:00:00 utc t: m", "pri=13 ts=2025-01-05T10:00:00Z host=utc tag=t msg=m");
}

#[test]
fn rfc3339_timestamps() {
    check(
        b"<30>2024-03-01T08:15:30.123456+01:00 infusion-gw-3 dhcpd[812]: DHCPACK on 10.20.0.5",
        "pri=30 ts=2024-03-01T08:15:30.123456+01:00 host=infusion-gw-3 tag=dhcpd pid=812 msg=DHCPACK on 10.20.0.5",
    );
    check(b"<30>2024-03-01T08:15:30Z h t: m", "pri=30 ts=2024-03-01T08:15:30Z host=h tag=t msg=m");
    check(b"<30>2024-03-01T08:15:30 h t: m", "pri=30 ts=2024-03-01T08:15:30Z host=h tag=t msg=m");
    check(b"<30>2024-03-01T08:15:30.1Z: %X-1-Y: m", "pri=30 ts=2024-03-01T08:15:30.100Z tag=%X-1-Y msg=m");
    // An impossible one is no timestamp, and a date alone neither.
    check(b"<30>2023-02-29T08:15:30Z h t: m", "pri=30 msg=2023-02-29T08:15:30Z h t: m");
    check(b"<30>2024-03-01 h t: m", "pri=30 msg=2024-03-01 h t: m");
}

#[test]
fn year_less_timestamps_take_the_nearest_year_not_far_ahead() {
    // Year rollover both ways.
    check_at(
        "2025-01-01T00:00:05Z",
        b"<13>Dec 31 23:59:59 h t: m",
        "pri=13 ts=2024-12-31T23:59:59Z host=h tag=t msg=m",
    );
    check_at(
        "2024-12-31T23:59:59Z",
        b"<13>Jan  1 00:00:02 h t: m",
        "pri=13 ts=2025-01-01T00:00:02Z host=h tag=t msg=m",
    );
    // Up to 31 days ahead is this year; beyond, last year.
    check_at(
        "2025-06-01T00:00:00Z",
        b"<13>Jul  1 12:00:00 h t: m",
        "pri=13 ts=2025-07-01T12:00:00Z host=h tag=t msg=m",
    );
    check_at(
        "2025-06-01T00:00:00Z",
        b"<13>Jul  3 00:00:00 h t: m",
        "pri=13 ts=2024-07-03T00:00:00Z host=h tag=t msg=m",
    );
    check_at(
        "2025-06-01T00:00:00Z",
        b"<13>May 31 23:00:00 h t: m",
        "pri=13 ts=2025-05-31T23:00:00Z host=h tag=t msg=m",
    );
}

#[test]
fn february_29th_goes_to_the_nearest_leap_year_allowed() {
    check_at(
        "2024-03-10T00:00:00Z",
        b"<13>Feb 29 12:00:00 h t: m",
        "pri=13 ts=2024-02-29T12:00:00Z host=h tag=t msg=m",
    );
    check_at(
        "2025-01-02T00:00:00Z",
        b"<13>Feb 29 12:00:00 h t: m",
        "pri=13 ts=2024-02-29T12:00:00Z host=h tag=t msg=m",
    );
    check_at(
        "2027-12-15T00:00:00Z",
        b"<13>Feb 29 12:00:00 h t: m",
        "pri=13 ts=2024-02-29T12:00:00Z host=h tag=t msg=m",
    );
    check_at(
        "2028-02-10T00:00:00Z",
        b"<13>Feb 29 12:00:00 h t: m",
        "pri=13 ts=2028-02-29T12:00:00Z host=h tag=t msg=m",
    );
    // 2100 is no leap year: eight years back from 2103.
    check_at(
        "2103-06-01T00:00:00Z",
        b"<13>Feb 29 12:00:00 h t: m",
        "pri=13 ts=2096-02-29T12:00:00Z host=h tag=t msg=m",
    );
}

#[test]
fn the_ends_of_time_do_not_panic() {
    for received in [DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::UNIX_EPOCH] {
        for input in [
            b"<13>Feb 29 23:59:60.999 h t: m".as_slice(),
            b"<13>Dec 31 23:59:59 h t: m",
            b"<13>Jan  1 00:00:00 h t: m",
        ] {
            // Near the ends there may be no year to give; the message still parses.
            let m = parse(input, received);
            assert!(m.as_ref().is_ok_and(|m| m.message.is_some()), "{received}: {m:?}");
        }
    }
}

#[test]
fn hostname_or_tag_after_the_timestamp() {
    check(b"<13>Feb  5 17:32:18 su: msg", "pri=13 ts=2024-02-05T17:32:18Z tag=su msg=msg");
    check(b"<13>Feb  5 17:32:18 su[42]: msg", "pri=13 ts=2024-02-05T17:32:18Z tag=su pid=42 msg=msg");
    check(
        b"<13>Feb  5 17:32:18 fe80::1 su: msg",
        "pri=13 ts=2024-02-05T17:32:18Z host=fe80::1 tag=su msg=msg",
    );
    check(
        b"<13>Feb  5 17:32:18 gw.icu.example.org su: msg",
        "pri=13 ts=2024-02-05T17:32:18Z host=gw.icu.example.org tag=su msg=msg",
    );
    check(b"<13>Feb  5 17:32:18 h  two spaces", "pri=13 ts=2024-02-05T17:32:18Z host=h msg= two spaces");
    // Without a timestamp there is no hostname.
    check(b"<13>host su: msg", "pri=13 msg=host su: msg");
}

#[test]
fn tags() {
    check(b"<13>postfix/smtpd[1234]: connect", "pri=13 tag=postfix/smtpd pid=1234 msg=connect");
    check(b"<13>systemd-logind[1]: New session", "pri=13 tag=systemd-logind pid=1 msg=New session");
    check(b"<13>su[12] no colon", "pri=13 tag=su pid=12 msg=no colon");
    check(b"<13>su[]: empty pid", "pri=13 tag=su msg=empty pid");
    check(b"<13>su[12 unclosed", "pri=13 msg=su[12 unclosed");
    check(b"<13>su[12]x", "pri=13 msg=su[12]x");
    check(b"<13>su:no space", "pri=13 tag=su msg=no space");
    check(b"<13>su:", "pri=13 tag=su");
    check(b"<13>su:  two spaces", "pri=13 tag=su msg= two spaces");
    check(b"<13>http://example.org/ is up", "pri=13 msg=http://example.org/ is up");
    check(b"<13>fe80::1 is up", "pri=13 msg=fe80::1 is up");
    check(b"<13>10:00 meeting", "pri=13 msg=10:00 meeting");
    check(b"<13>at:10:00 meeting", "pri=13 msg=at:10:00 meeting");
    check(b"<13>Error: disk full", "pri=13 tag=Error msg=disk full");
    check(b"<13>abcdefghijklmnopqrstuvwxyz012345: 32", "pri=13 tag=abcdefghijklmnopqrstuvwxyz012345 msg=32");
    check(b"<13>abcdefghijklmnopqrstuvwxyz0123456: 33", "pri=13 msg=abcdefghijklmnopqrstuvwxyz0123456: 33");
    check(b"<13>sshd(pam_unix)[1]: x", "pri=13 msg=sshd(pam_unix)[1]: x");
}

#[test]
fn cisco_ios() {
    check(
        b"<189>123: Mar  1 00:00:00.123: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to down",
        "pri=189 seq=123 ts=2024-03-01T00:00:00.123Z tag=%LINK-3-UPDOWN msg=Interface GigabitEthernet0/1, changed state to down",
    );
    check(
        b"<189>123: router1: *Mar  1 00:00:00.123 UTC: %LINK-3-UPDOWN: down",
        "pri=189 seq=123 ts=2024-03-01T00:00:00.123Z host=router1 tag=%LINK-3-UPDOWN msg=down",
    );
    check(
        b"<189>router1: 123: .Mar 1 00:00:00: %SYS-5-CONFIG_I: x",
        "pri=189 seq=123 ts=2024-03-01T00:00:00Z host=router1 tag=%SYS-5-CONFIG_I msg=x",
    );
    check(
        b"<189>*Mar  1 00:00:00.123: %SYS-5-CONFIG_I: x",
        "pri=189 ts=2024-03-01T00:00:00.123Z tag=%SYS-5-CONFIG_I msg=x",
    );
    check(b"<189>123: %LINK-3-UPDOWN: no timestamps", "pri=189 seq=123 tag=%LINK-3-UPDOWN msg=no timestamps");
    check(
        b"<189>123: %PKT_INFRA-LINK-3-UPDOWN: IOS XR",
        "pri=189 seq=123 tag=%PKT_INFRA-LINK-3-UPDOWN msg=IOS XR",
    );
    check(
        b"<187>Mar  1 00:00:00 10.0.0.1 4242: *Mar  1 00:00:00.123: %LINK-3-UPDOWN: relayed",
        "pri=187 seq=4242 ts=2024-03-01T00:00:00Z host=10.0.0.1 tag=%LINK-3-UPDOWN msg=relayed",
    );
    // Taken only when a Cisco timestamp or a mnemonic follows.
    check(b"<189>123: just a number", "pri=189 msg=123: just a number");
    check(b"<13>error: Feb  5 17:32:18 x", "pri=13 tag=error msg=Feb  5 17:32:18 x");
    check(
        b"<13>Feb  5 17:32:18 h kernel: %LINK-3-UPDOWN: x",
        "pri=13 ts=2024-02-05T17:32:18Z host=h tag=kernel msg=%LINK-3-UPDOWN: x",
    );
    check(
        b"<189>99999999999999999999999: %LINK-3-UPDOWN: x",
        "pri=189 msg=99999999999999999999999: %LINK-3-UPDOWN: x",
    );
}

#[test]
fn cisco_asa_and_pix() {
    check(
        b"<166>Jan 05 2024 10:00:00: %ASA-6-302013: Built outbound TCP connection 1 for outside:10.0.0.1/443",
        "pri=166 ts=2024-01-05T10:00:00Z tag=%ASA-6-302013 msg=Built outbound TCP connection 1 for outside:10.0.0.1/443",
    );
    check(
        b"<166>Jan 05 2024 10:00:00 fw01 : %ASA-6-302013: Built",
        "pri=166 ts=2024-01-05T10:00:00Z host=fw01 tag=%ASA-6-302013 msg=Built",
    );
    check(b"<166>%ASA-6-302013: Built", "pri=166 tag=%ASA-6-302013 msg=Built");
    check(
        b"<166>Jan 05 2024 10:00:00: %PIX-4-106023: Deny",
        "pri=166 ts=2024-01-05T10:00:00Z tag=%PIX-4-106023 msg=Deny",
    );
}

#[test]
fn message_bytes_that_are_not_utf8_are_replaced() {
    check(
        b"<13>Feb  5 17:32:18 h app: fond\xfc",
        "pri=13 ts=2024-02-05T17:32:18Z host=h tag=app msg=fond\u{fffd}",
    );
    check(b"<13>Feb  5 17:32:18 h\xff app: x", "pri=13 ts=2024-02-05T17:32:18Z msg=h\u{fffd} app: x");
    check(b"\xff\xfe", "msg=\u{fffd}\u{fffd}");
}

#[test]
fn rejections_name_the_place() {
    check(b"", "error@0: empty message");
    check(b"\0", "error@0: empty message");
    check(b"<", "error@1: expected a priority value (0-191) after '<'");
    check(b"<>x", "error@1: expected a priority value (0-191) after '<'");
    check(b"<html>", "error@1: expected a priority value (0-191) after '<'");
    check(b"<192>x", "error@1: priority is over 191");
    check(b"<999>x", "error@1: priority is over 191");
    check(b"<1000>x", "error@4: expected '>' after the priority");
    check(b"<13", "error@3: expected '>' after the priority");
    check(b"<13 x", "error@3: expected '>' after the priority");
}

#[test]
fn json_keys_line_up_with_rfc5424() {
    let m = parse(b"<34>Oct 11 22:14:15 mymachine su: x", at(RECEIVED))
        .map(|m| serde_json::to_value(m).unwrap_or_default());
    let five = crate::codec::rfc5424::parse(b"<34>1 - - - - - -")
        .map(|m| serde_json::to_value(m).unwrap_or_default());
    let keys = |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    let (Ok(m), Ok(five)) = (m, five) else { panic!("examples did not parse") };
    let mut expected = keys(&five);
    expected.push("sequence".into());
    expected.sort();
    assert_eq!(keys(&m), expected);
    assert_eq!(
        (&m["version"], &m["msgid"], &m["structured_data"]),
        (&Value::Null, &Value::Null, &Value::Null)
    );
}

proptest::proptest! {
    /// Whatever the bytes, the parser answers (it never panics) and an error
    /// points inside the input.
    #[test]
    fn any_bytes_get_an_answer(
        bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
        secs in -50_000_000_000i64..50_000_000_000,
    ) {
        let received = DateTime::from_timestamp(secs, 0).unwrap_or_default();
        if let Err(e) = parse(&bytes, received) {
            proptest::prop_assert!(e.offset <= bytes.len());
        }
    }

    /// The same behind headers that get the parser deep into its branches.
    #[test]
    fn any_bytes_after_a_header_get_an_answer(
        prefix in proptest::sample::select(vec![
            "<13>", "<189>123: ", "<189>1: r1: *", "Feb 29 12:00:00", "<13>Feb  5 17:32:18 ", "<13>Feb  5 17:32:18 h ",
            "<166>Jan 05 2024 10:00:00: %ASA-6-302013", "<30>2024-03-01T08:15:30.1", "<13>Jan 05 10:00:00 TZ-",
            "<13>t[", "<13>Dec 31 23:59:60.",
        ]),
        bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..60),
    ) {
        let input = [prefix.as_bytes(), &bytes].concat();
        if let Err(e) = parse(&input, at(RECEIVED)) {
            proptest::prop_assert!(e.offset <= input.len());
        }
    }

    /// Well-formed messages built from parts parse back into those parts.
    #[test]
    fn built_messages_round_trip(
        pri in 0u8..=191,
        month in 1u32..=12,
        day in 1u32..=28,
        zero_padded in proptest::bool::ANY,
        (hour, minute, second) in (0u32..24, 0u32..60, 0u32..60),
        host in "[a-z][a-z0-9.-]{0,40}",
        tag in "[A-Za-z][A-Za-z0-9_./-]{0,31}",
        pid in "[0-9]{1,7}",
        msg in "[^\\x00]{0,120}",
        secs in 0i64..8_000_000_000,
    ) {
        const NAMES: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let name = NAMES.get(month as usize - 1).copied().unwrap_or_default();
        let day_text = if zero_padded { format!("{day:02}") } else { format!("{day:>2}") };
        let input = format!("<{pri}>{name} {day_text} {hour:02}:{minute:02}:{second:02} {host} {tag}[{pid}]: {msg}");
        let received = DateTime::from_timestamp(secs, 0).unwrap_or_default();
        let m = parse(input.as_bytes(), received);
        proptest::prop_assert!(m.is_ok(), "{:?} rejected: {:?}", input, m);
        if let Ok(m) = m {
            proptest::prop_assert_eq!(m.priority, Some(pri));
            proptest::prop_assert_eq!(m.facility, Some(pri >> 3));
            proptest::prop_assert_eq!(m.severity, Some(pri & 7));
            proptest::prop_assert_eq!(m.hostname, Some(host));
            proptest::prop_assert_eq!(m.appname, Some(tag));
            proptest::prop_assert_eq!(m.procid, Some(pid));
            proptest::prop_assert_eq!(m.message, (!msg.is_empty()).then_some(msg));
            proptest::prop_assert_eq!(m.sequence, None);
            let ts = m.timestamp.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true)).unwrap_or_default();
            proptest::prop_assert!(
                ts.ends_with(&format!("-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")),
                "{} for {:?}", ts, input
            );
            let ahead = m.timestamp.map(|t| t.to_utc() - received).unwrap_or_default();
            proptest::prop_assert!(ahead <= chrono::TimeDelta::days(31) && ahead > chrono::TimeDelta::days(-366));
        }
    }
}

/// The whole JSON shape of typical and broken messages, reviewed once and
/// pinned: any change to what `wardwatch parse --format rfc3164` prints
/// shows up here.
#[test]
fn parse_results_snapshot() {
    let inputs: &[&[u8]] = &[
        b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
        b"<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!",
        b"<189>123: ward7-sw: *Mar  1 00:00:00.123 UTC: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to down",
        b"<166>Jan 05 2024 10:00:00: %ASA-6-302013: Built outbound TCP connection 7 for outside:10.0.0.1/443 (10.0.0.1/443) to inside:10.20.0.5/51234 (10.20.0.5/51234)",
        b"<30>2024-03-01T08:15:30.123456+01:00 infusion-gw-3 dhcpd[812]: DHCPACK on 10.20.0.5 to 00:11:22:33:44:55",
        b"<14>pump-bridge lost contact with IP-3\0",
        b"Feb 29 12:00:00 ward7-gw kernel: nf_conntrack: table full, dropping packet",
        b"<13>Feb  5 17:32:18 pacs-1 store[77]: fond\xfc",
        b"<192>Oct 11 22:14:15 mymachine su: x",
        b"<>x",
    ];
    let results: Vec<Value> = inputs
        .iter()
        .map(|i| match parse(i, at(RECEIVED)) {
            Ok(m) => json!({"ok": m}),
            Err(e) => json!({"error": e.to_string()}),
        })
        .collect();
    insta::assert_json_snapshot!(results);
}
