//! `cargo bench`: each codec on typical messages, in messages per second
//! (criterion's "thrpt" in elem/s); `wardwatch bench` prints MB/s beside it.

use std::hint::black_box;

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wardwatch::codec::{cef, eve, hl7, json, leef, rfc3164, rfc5424};
use wardwatch::normalize::{decode_auto, Receipt};

#[path = "../src/bin/wardwatch/samples.rs"]
mod samples;

fn codecs(c: &mut Criterion) {
    let now = Utc::now();
    let receipt = Receipt { received_at: now, source_addr: None, listener: None };
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(1));
    g.bench_function("rfc5424", |b| b.iter(|| rfc5424::parse(black_box(samples::RFC5424))));
    g.bench_function("rfc3164", |b| b.iter(|| rfc3164::parse(black_box(samples::RFC3164), now)));
    let cef_text = std::str::from_utf8(samples::CEF).unwrap_or_default();
    g.bench_function("cef", |b| b.iter(|| cef::parse(black_box(cef_text))));
    let leef_text = std::str::from_utf8(samples::LEEF).unwrap_or_default();
    g.bench_function("leef", |b| b.iter(|| leef::parse(black_box(leef_text))));
    g.bench_function("eve", |b| b.iter(|| eve::parse(black_box(samples::EVE))));
    g.bench_function("hl7", |b| b.iter(|| hl7::parse(black_box(samples::HL7))));
    g.bench_function("json", |b| b.iter(|| json::parse(black_box(samples::JSON))));
    g.bench_function("auto_rfc5424_to_alert", |b| {
        b.iter(|| decode_auto(black_box(samples::RFC5424), &receipt))
    });
    g.bench_function("auto_cef_to_alert", |b| b.iter(|| decode_auto(black_box(samples::CEF), &receipt)));
    g.finish();
}

criterion_group!(benches, codecs);
criterion_main!(benches);
