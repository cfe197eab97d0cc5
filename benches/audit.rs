//! `cargo bench --bench audit`: the audit log with encryption and the chain
//! on. Durable appends (one transaction, one fsync, per batch of alerts,
//! each alert its own audit record) and verification of a whole chain, in
//! records per second (criterion's "thrpt" in elem/s). `wardwatch bench`
//! prints the same figures for one large run.

use std::hint::black_box;

use chrono::Utc;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ed25519_dalek::SigningKey;
use wardwatch::audit::{verify_chain, VerifyFrom};
use wardwatch::ingest::Ingested;
use wardwatch::keys::SecretKey;
use wardwatch::model::Alert;
use wardwatch::normalize::{decode_auto, Receipt};
use wardwatch::store::Store;

#[path = "../src/bin/wardwatch/samples.rs"]
#[allow(dead_code, reason = "the shared samples; this bench uses one of them")]
mod samples;

/// Alerts per transaction, as a busy console batches them.
const BATCH: usize = 2048;
/// The chain verified: large enough that opening the file is a small part.
const CHAIN: usize = 200_000;

fn sample_alert() -> Alert {
    let receipt = Receipt { received_at: Utc::now(), source_addr: None, listener: None };
    match decode_auto(samples::RFC5424, &receipt).map(|d| d.into_alert()) {
        Ok(Some(a)) => a,
        Ok(None) => panic!("the sample is no alert"),
        Err(e) => panic!("the sample does not decode: {e}"),
    }
}

fn batch(alert: &Alert, n: usize) -> Vec<Ingested> {
    (0..n).map(|_| Ingested::Alert(alert.clone())).collect()
}

fn open(dir: &std::path::Path, key: &SecretKey, signing: &SigningKey) -> Store {
    let mut store = Store::open(dir, key).unwrap_or_else(|e| panic!("cannot open a store: {e}"));
    store.set_signer(signing.clone());
    store
}

fn audit(c: &mut Criterion) {
    // Throw-away keys for throw-away stores.
    let key = SecretKey::from_bytes([0x5a; 32]);
    let signing = SigningKey::from_bytes(&[0xa5; 32]);
    let alert = sample_alert();
    let mut g = c.benchmark_group("audit");
    g.sample_size(10);

    let append_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("no temp dir: {e}"));
    let mut store = open(append_dir.path(), &key, &signing);
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("append_durable_batch", |b| {
        b.iter_batched_ref(
            || batch(&alert, BATCH),
            |items| store.append(items).unwrap_or_else(|e| panic!("append failed: {e}")),
            BatchSize::LargeInput,
        )
    });
    drop(store);

    let verify_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("no temp dir: {e}"));
    let mut store = open(verify_dir.path(), &key, &signing);
    for _ in 0..CHAIN / BATCH {
        store.append(&mut batch(&alert, BATCH)).unwrap_or_else(|e| panic!("append failed: {e}"));
    }
    store.checkpoint().unwrap_or_else(|e| panic!("checkpoint failed: {e}"));
    let records = store.head().seq;
    drop(store);
    let reader =
        Store::open_read_only(verify_dir.path(), &key).unwrap_or_else(|e| panic!("cannot open: {e}"));
    let public = signing.verifying_key().to_bytes();
    g.throughput(Throughput::Elements(records));
    g.bench_function("verify_chain", |b| {
        b.iter(|| {
            let report = verify_chain(reader.connection(), VerifyFrom::Genesis, None, Some(&public))
                .unwrap_or_else(|e| panic!("verify failed: {e}"));
            assert!(report.damage.is_none() && report.records == records, "the chain did not verify");
            black_box(report)
        })
    });
    g.finish();
}

criterion_group!(benches, audit);
criterion_main!(benches);
