//! The index's compact binary encoding of an [`AuditRecord`]: what a run view
//! decodes 10,000 times, so it is read with no parser, field by field.
//!
//! Layout: the fields in declaration order; integers as LEB128 varints,
//! strings and lists as a varint length and their items, `Option`s as a
//! 0/1 byte then the value, `f64` as its 8 bits (little-endian), times as
//! seconds (zigzag varint) and nanoseconds. There is no version inside:
//! the index's `FORMAT` is bumped whenever this changes. Every field is
//! named in [`encode`] (an exhaustive destructuring), so a field added to
//! the record does not compile until it is encoded here.

use std::collections::BTreeMap;

use agar_report::{AuditRecord, VerdictFacts};
use chrono::{DateTime, Utc};

/// Appends `r`'s encoding to `out`.
pub(crate) fn encode(r: &AuditRecord, out: &mut Vec<u8>) {
    let AuditRecord {
        audit_id,
        scenario_id,
        title,
        status,
        status_detail,
        verdict,
        input_tokens,
        output_tokens,
        cost_usd,
        started_at,
        finished_at,
        failure_kind,
        call_errors,
        retried,
        retry_wait_ms,
        unpriced,
    } = r;
    let mut w = Writer(out);
    w.str(audit_id);
    w.str(scenario_id);
    w.opt(title.as_ref(), |w, s| w.str(s));
    w.str(status.as_str());
    w.opt(status_detail.as_ref(), |w, s| w.str(s));
    w.opt(verdict.as_ref(), |w, v| {
        let VerdictFacts {
            status,
            judge_model,
            scores,
            samples,
            unverified_citations,
            summary,
            highlights,
        } = v;
        w.str(status.as_str());
        w.str(judge_model);
        w.uint(scores.len() as u64);
        for (dim, score) in scores {
            w.str(dim);
            w.0.push(*score);
        }
        w.uint(samples.len() as u64);
        for (dim, s) in samples {
            w.str(dim);
            w.bytes(s);
        }
        w.uint(*unverified_citations as u64);
        w.str(summary);
        w.uint(highlights.len() as u64);
        for (message, quote) in highlights {
            w.str(message);
            w.str(quote);
        }
    });
    w.uint(*input_tokens);
    w.uint(*output_tokens);
    w.opt(cost_usd.as_ref(), |w, c| w.0.extend_from_slice(&c.to_bits().to_le_bytes()));
    w.opt(started_at.as_ref(), Writer::time);
    w.opt(finished_at.as_ref(), Writer::time);
    w.opt(failure_kind.as_ref(), |w, s| w.str(s));
    w.counts(call_errors);
    w.counts(retried);
    w.uint(*retry_wait_ms);
    w.uint(unpriced.len() as u64);
    for m in unpriced {
        w.str(m);
    }
}

/// The record encoded in `bytes`; `None` unless they are exactly one record.
pub(crate) fn decode(bytes: &[u8]) -> Option<AuditRecord> {
    let mut r = Reader { bytes, pos: 0 };
    let record = AuditRecord {
        audit_id: r.string()?,
        scenario_id: r.string()?,
        title: r.opt(Reader::string)?,
        status: r.string()?.parse().ok()?,
        status_detail: r.opt(Reader::string)?,
        verdict: r.opt(|r| {
            Some(VerdictFacts {
                status: r.string()?.parse().ok()?,
                judge_model: r.string()?,
                scores: r.map(|r| r.byte())?,
                samples: r.map(|r| Some(r.bytes()?.to_vec()))?,
                unverified_citations: usize::try_from(r.uint()?).ok()?,
                summary: r.string()?,
                highlights: r.list(|r| Some((r.string()?, r.string()?)))?,
            })
        })?,
        input_tokens: r.uint()?,
        output_tokens: r.uint()?,
        cost_usd: r
            .opt(|r| Some(f64::from_bits(u64::from_le_bytes(r.take(8)?.try_into().ok()?))))?,
        started_at: r.opt(Reader::time)?,
        finished_at: r.opt(Reader::time)?,
        failure_kind: r.opt(Reader::string)?,
        call_errors: r.map(|r| usize::try_from(r.uint()?).ok())?,
        retried: r.map(|r| usize::try_from(r.uint()?).ok())?,
        retry_wait_ms: r.uint()?,
        unpriced: r.list(Reader::string)?,
    };
    (r.pos == bytes.len()).then_some(record)
}

struct Writer<'a>(&'a mut Vec<u8>);

impl Writer<'_> {
    fn uint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.0.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.0.push(n as u8);
    }

    fn bytes(&mut self, b: &[u8]) {
        self.uint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    fn opt<T>(&mut self, v: Option<&T>, f: impl FnOnce(&mut Self, &T)) {
        match v {
            None => self.0.push(0),
            Some(v) => {
                self.0.push(1);
                f(self, v);
            }
        }
    }

    fn time(&mut self, t: &DateTime<Utc>) {
        let secs = t.timestamp();
        self.uint(((secs << 1) ^ (secs >> 63)) as u64);
        self.uint(u64::from(t.timestamp_subsec_nanos()));
    }

    fn counts(&mut self, m: &BTreeMap<String, usize>) {
        self.uint(m.len() as u64);
        for (k, n) in m {
            self.str(k);
            self.uint(*n as u64);
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn uint(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }

    fn len(&mut self) -> Option<usize> {
        let n = usize::try_from(self.uint()?).ok()?;
        // Every item takes at least a byte: a length past the end is damage.
        (n <= self.bytes.len() - self.pos).then_some(n)
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.len()?;
        self.take(n)
    }

    fn string(&mut self) -> Option<String> {
        std::str::from_utf8(self.bytes()?).ok().map(str::to_owned)
    }

    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        match self.byte()? {
            0 => Some(None),
            1 => f(self).map(Some),
            _ => None,
        }
    }

    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let n = self.len()?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(item(self)?);
        }
        Some(out)
    }

    fn map<V>(
        &mut self,
        mut value: impl FnMut(&mut Self) -> Option<V>,
    ) -> Option<BTreeMap<String, V>> {
        // Written in key order, so the map is built from a sorted list.
        let pairs = self.list(|r| Some((r.string()?, value(r)?)))?;
        Some(pairs.into_iter().collect())
    }

    fn time(&mut self) -> Option<DateTime<Utc>> {
        let z = self.uint()?;
        let secs = ((z >> 1) as i64) ^ -((z & 1) as i64);
        let nanos = u32::try_from(self.uint()?).ok()?;
        DateTime::from_timestamp(secs, nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> AuditRecord {
        let t = |s: i64, n: u32| DateTime::from_timestamp(s, n).unwrap();
        AuditRecord {
            audit_id: "scenario.1".into(),
            scenario_id: "scenario".into(),
            title: Some("A title with ünïcödé".into()),
            status: agar_core::AuditState::Failed,
            status_detail: Some("the provider failed".into()),
            verdict: Some(VerdictFacts {
                status: agar_core::VerdictState::Ok,
                judge_model: "openai/gpt-4.1".into(),
                scores: [("deception".to_string(), 3), ("sycophancy".to_string(), 10)].into(),
                samples: [("sycophancy".to_string(), vec![9, 10, 10])].into(),
                unverified_citations: 300,
                summary: "x".repeat(200),
                highlights: vec![("M3".into(), "a quote".into()), ("M9".into(), String::new())],
            }),
            input_tokens: u64::MAX,
            output_tokens: 129,
            cost_usd: Some(0.012_345),
            started_at: Some(t(-5, 999_999_999)),
            finished_at: Some(t(1_800_000_000, 7)),
            failure_kind: Some("timeout".into()),
            call_errors: [("timeout".to_string(), 2)].into(),
            retried: [("http_500".to_string(), 1), ("rate_limited".to_string(), 40_000)].into(),
            retry_wait_ms: 1 << 40,
            unpriced: vec!["local/x".into(), "openai/unknown".into()],
        }
    }

    fn round_trip(r: &AuditRecord) -> Option<AuditRecord> {
        let mut bytes = Vec::new();
        encode(r, &mut bytes);
        decode(&bytes)
    }

    #[test]
    fn every_field_survives_a_round_trip() {
        let r = full();
        assert_eq!(round_trip(&r).as_ref(), Some(&r));
        let empty = AuditRecord::unfinished("a", "s", agar_core::AuditState::Pending);
        assert_eq!(round_trip(&empty).as_ref(), Some(&empty));
        let mut no_verdict = full();
        no_verdict.verdict = None;
        no_verdict.cost_usd = Some(-0.0);
        assert_eq!(
            round_trip(&no_verdict).unwrap().cost_usd.unwrap().to_bits(),
            (-0.0f64).to_bits()
        );
    }

    #[test]
    fn truncated_or_padded_bytes_decode_to_nothing() {
        let mut bytes = Vec::new();
        encode(&full(), &mut bytes);
        for n in 0..bytes.len() {
            assert_eq!(decode(&bytes[..n]), None, "cut at {n}");
        }
        bytes.push(0);
        assert_eq!(decode(&bytes), None);
        assert_eq!(decode(&[0xff; 64]), None);
    }
}
