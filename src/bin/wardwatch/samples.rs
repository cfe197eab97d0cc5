//! Typical messages of each format, shared by `wardwatch bench` and `cargo bench`.

/// 200–400 bytes each, as gateways send them.
pub const RFC5424: &[u8] = b"<132>1 2026-11-28T10:00:00.123456Z gw-icu-1 iomt-sentinel 4242 BEACON [origin ip=\"10.20.4.7\" enterpriseId=\"32473\"][meta sequenceId=\"1042\"] Infusion pump ICU-B12 (10.20.4.7) beaconing to 203.0.113.50:443 every 60 s; 14 connections in 15 min";
pub const RFC3164: &[u8] = b"<132>Nov 28 10:00:00 gw-icu-1 iomt-sentinel[4242]: Infusion pump ICU-B12 (10.20.4.7) beaconing to 203.0.113.50:443 every 60 s; 14 connections in the last 15 minutes, first seen 09:45";
pub const CEF: &[u8] = b"CEF:0|Medigate|IoMT Security|4.2.1|DEFAULT_CREDS|Default credentials accepted|High|src=10.20.4.7 dst=10.20.0.9 spt=51514 dpt=22 proto=TCP shost=pm-4-07 cs1Label=deviceType cs1=Patient monitor cs2Label=ward cs2=ICU-4 msg=Patient monitor PM-4-07 accepted a login with default credentials rt=1795860000000";
pub const LEEF: &[u8] = b"LEEF:2.0|Cynerio|Live|3.1.4|BEACON|^|src=10.30.1.5^dst=203.0.113.50^srcPort=51514^dstPort=443^proto=TCP^sev=9^cat=C2^identHostName=rad-ws-03^devTime=1795860000000^msg=Imaging workstation RAD-WS-03 beaconing to a known command-and-control host";
pub const EVE: &[u8] = br#"{"timestamp":"2026-11-28T10:00:00.251547+0100","flow_id":586497171462735,"in_iface":"eth1","event_type":"alert","src_ip":"10.20.4.7","src_port":51514,"dest_ip":"203.0.113.50","dest_port":443,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2027865,"rev":3,"signature":"ET MALWARE Observed C2 beacon","category":"A Network Trojan was detected","severity":1},"app_proto":"tls"}"#;
/// An IHE PCD-01 observation from a multi-parameter monitor (made-up patient).
pub const HL7: &[u8] = include_bytes!("../../../tests/fixtures/hl7/pcd01-spo2.hl7");
