//! The device's catalog (products and stock) in memory, with the lookups the till makes: by
//! id, by barcode, by SKU or barcode prefix, and by word prefixes.
//!
//! Why in memory: a browser's IndexedDB spends about 90 µs on every record it stores, index
//! entries aside (Chromium 156, measured in issue 21), so a catalog of 20,000 variants and
//! their stock — 40,000 records — could not be stored in under 3.6 s however it was written.
//! The device stores the catalog instead as a log of segments, one per pulled page (a few
//! records of IndexedDB), and every tab rebuilds this index from them. Lookups then cost
//! microseconds instead of an IndexedDB round trip each.
//!
//! A segment is the JSON of [`Segment`]; applied in the order they were written, the segments
//! give the catalog. A `base` segment starts it again from nothing (a compaction's snapshot).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::search;
use crate::sync::config::{EXISTENCIA, PRODUCTO};

/// The synced models the catalog holds.
pub const MODELS: [&str; 2] = [PRODUCTO, EXISTENCIA];

/// Whether the catalog holds `model`'s records.
pub fn holds(model: &str) -> bool {
    MODELS.contains(&model)
}

/// One record of a segment: the record's fields, or `None` when it was deleted.
#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    #[serde(rename = "m")]
    pub model: String,
    pub id: Uuid,
    #[serde(rename = "v")]
    pub version: i64,
    #[serde(rename = "d")]
    pub data: Option<Box<RawValue>>,
}

/// A run of catalog changes stored as one IndexedDB record.
#[derive(Debug, Serialize, Deserialize)]
pub struct Segment {
    /// The catalog starts again from nothing at this segment.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub base: bool,
    pub entries: Vec<Entry>,
}

/// Length of the query word beginnings that [`Catalog::search`] treats as a pair (kept from
/// the IndexedDB index it replaced, so result order does not change for a cashier).
const SEARCH_PAIR_PREFIX: usize = 3;

/// Which model a record is of, first in its key so that each model's records are one range.
const PRODUCT: u8 = 0;
const STOCK: u8 = 1;

fn kind(model: &str) -> Option<u8> {
    match model {
        PRODUCTO => Some(PRODUCT),
        EXISTENCIA => Some(STOCK),
        _ => None,
    }
}

/// A product or stock record; the fields a lookup needs are empty for stock.
#[derive(Debug)]
struct Record {
    version: i64,
    data: Box<RawValue>,
    words: Vec<String>,
    sku: String,
    barcode: String,
}

/// Products and stock, indexed. Ordered maps keep every lookup's order what IndexedDB's
/// indexes gave: by key, then by id. (One map and one set type for everything: each more
/// would be a few kilobytes more of the web app's download.)
#[derive(Debug, Default)]
pub struct Catalog {
    records: BTreeMap<(u8, Uuid), Record>,
    barcodes: BTreeSet<(String, Uuid)>,
    skus: BTreeSet<(String, Uuid)>,
    words: BTreeSet<(String, Uuid)>,
}

/// A text field of a record's JSON (empty when absent).
fn field(data: &serde_json::Map<String, serde_json::Value>, key: &str) -> String {
    data.get(key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Every `(key, id)` of `set` whose key starts with `prefix`, in order.
fn with_prefix<'a>(
    set: &'a BTreeSet<(String, Uuid)>,
    prefix: &'a str,
) -> impl Iterator<Item = Uuid> + 'a {
    set.range((prefix.to_owned(), Uuid::nil())..)
        .take_while(move |(key, _)| key.starts_with(prefix))
        .map(|(_, id)| *id)
}

impl Catalog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Products and stock records held.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Applies a segment's JSON in order; a `base` segment empties the catalog first.
    pub fn apply_segment(&mut self, json: &str) -> Result<(), serde_json::Error> {
        let segment: Segment = serde_json::from_str(json)?;
        if segment.base {
            *self = Self::default();
        }
        for entry in segment.entries {
            self.apply(&entry.model, entry.id, entry.version, entry.data);
        }
        Ok(())
    }

    /// Stores (or, with `None`, removes) one record; a model the catalog does not hold is
    /// ignored.
    pub fn apply(&mut self, model: &str, id: Uuid, version: i64, data: Option<Box<RawValue>>) {
        let Some(kind) = kind(model) else {
            return;
        };
        if let Some(old) = self.records.remove(&(kind, id)) {
            self.skus.remove(&(old.sku, id));
            self.barcodes.remove(&(old.barcode, id));
            for word in old.words {
                self.words.remove(&(word, id));
            }
        }
        let Some(data) = data else {
            return;
        };
        let mut record = Record {
            version,
            data,
            words: Vec::new(),
            sku: String::new(),
            barcode: String::new(),
        };
        if kind == PRODUCT {
            let fields: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(record.data.get()).unwrap_or_default();
            record.words = search::product_words(
                &field(&fields, "nombre"),
                &field(&fields, "marca"),
                &field(&fields, "modelo"),
                &field(&fields, "color"),
            );
            record.sku = field(&fields, "sku");
            record.barcode = field(&fields, "codigo_barras");
            self.skus.insert((record.sku.clone(), id));
            self.barcodes.insert((record.barcode.clone(), id));
            for word in &record.words {
                self.words.insert((word.clone(), id));
            }
        }
        self.records.insert((kind, id), record);
    }

    fn record(&self, kind: u8, id: Uuid) -> Option<&Record> {
        self.records.get(&(kind, id))
    }

    /// The records of one kind, by id.
    fn of(&self, kind: u8) -> impl Iterator<Item = (Uuid, &Record)> {
        self.records
            .range((kind, Uuid::nil())..=(kind, Uuid::max()))
            .map(|((_, id), record)| (*id, record))
    }

    /// The JSON of one record of `model`.
    pub fn get(&self, model: &str, id: Uuid) -> Option<&str> {
        self.record(kind(model)?, id).map(|r| r.data.get())
    }

    /// The JSON of every record of `model`, by id.
    pub fn all(&self, model: &str) -> Vec<&str> {
        kind(model).map_or_else(Vec::new, |kind| {
            self.of(kind).map(|(_, r)| r.data.get()).collect()
        })
    }

    /// The product with this exact barcode (the lowest id if several claim it).
    pub fn by_barcode(&self, barcode: &str) -> Option<&str> {
        self.barcodes
            .range((barcode.to_owned(), Uuid::nil())..)
            .next()
            .filter(|(code, _)| code == barcode)
            .and_then(|(_, id)| self.get(PRODUCTO, *id))
    }

    /// Products whose words start with every word of `query`, as the server's search finds
    /// them; a SKU (`PRO-MOC-021-NE-265`) or four digits or more search by SKU or barcode
    /// prefix first. At most `limit`. Order: a query with two words of three letters or more
    /// by id (what the pairs index gave); otherwise by the rarest query word's matching word,
    /// then id (the word index's order).
    pub fn search(&self, query: &str, limit: usize) -> Vec<&str> {
        if limit == 0 {
            return Vec::new();
        }
        let found = self.by_code(query, limit);
        if !found.is_empty() {
            return found;
        }
        let words = search::words(query);
        if words.is_empty() {
            return Vec::new();
        }
        let matches = |id: &Uuid| {
            self.record(PRODUCT, *id).is_some_and(|p| {
                words
                    .iter()
                    .all(|q| p.words.iter().any(|w| w.starts_with(q.as_str())))
            })
        };
        let mut starts: Vec<String> = words
            .iter()
            .filter(|w| w.chars().count() >= SEARCH_PAIR_PREFIX)
            .map(|w| w.chars().take(SEARCH_PAIR_PREFIX).collect())
            .collect();
        starts.truncate(2);
        if starts.len() == 2 && starts[0] != starts[1] {
            return self
                .of(PRODUCT)
                .filter(|(id, _)| matches(id))
                .take(limit)
                .map(|(_, p)| p.data.get())
                .collect();
        }
        let Some(rarest) = words
            .iter()
            .min_by_key(|w| with_prefix(&self.words, w).count())
        else {
            return Vec::new();
        };
        // A product with two words starting so comes twice; `found` is at most `limit` long.
        let mut found: Vec<Uuid> = Vec::new();
        for id in with_prefix(&self.words, rarest) {
            if found.len() == limit {
                break;
            }
            if !found.contains(&id) && matches(&id) {
                found.push(id);
            }
        }
        found
            .into_iter()
            .filter_map(|id| self.get(PRODUCTO, id))
            .collect()
    }

    /// A SKU or the start of a barcode, by prefix; empty when the query is neither or nothing
    /// starts so.
    fn by_code(&self, query: &str, limit: usize) -> Vec<&str> {
        let token = query.trim();
        let (index, prefix) = if token.contains('-') && !token.contains(' ') {
            (&self.skus, token.to_uppercase())
        } else if token.len() >= 4 && token.chars().all(|c| c.is_ascii_digit()) {
            (&self.barcodes, token.to_owned())
        } else {
            return Vec::new();
        };
        with_prefix(index, &prefix)
            .take(limit)
            .filter_map(|id| self.get(PRODUCTO, id))
            .collect()
    }

    /// The whole catalog as segments of at most `per_segment` records, the first a `base`:
    /// what a compaction writes in place of the log.
    pub fn snapshot(&self, per_segment: usize) -> Vec<String> {
        let entries: Vec<Entry> = self
            .records
            .iter()
            .map(|((kind, id), r)| Entry {
                model: if *kind == PRODUCT {
                    PRODUCTO
                } else {
                    EXISTENCIA
                }
                .to_owned(),
                id: *id,
                version: r.version,
                data: Some(r.data.clone()),
            })
            .collect();
        let mut chunks: Vec<Vec<Entry>> = Vec::new();
        let mut rest = entries.into_iter().peekable();
        while rest.peek().is_some() {
            chunks.push(rest.by_ref().take(per_segment.max(1)).collect());
        }
        if chunks.is_empty() {
            chunks.push(Vec::new());
        }
        chunks
            .into_iter()
            .enumerate()
            .map(|(i, entries)| {
                segment_json(&Segment {
                    base: i == 0,
                    entries,
                })
            })
            .collect()
    }
}

/// A segment's stored JSON.
pub fn segment_json(segment: &Segment) -> String {
    // Serializing a struct of strings, numbers and already valid raw JSON cannot fail.
    serde_json::to_string(segment).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(value: serde_json::Value) -> Option<Box<RawValue>> {
        RawValue::from_string(value.to_string()).ok()
    }

    fn product(
        n: u128,
        name: &str,
        color: &str,
        sku: &str,
        barcode: &str,
    ) -> (Uuid, Box<RawValue>) {
        let id = Uuid::from_u128(n);
        let data = raw(
            json!({"id": id, "nombre": name, "marca": "Pronto", "modelo": format!("M{n}"),
            "color": color, "sku": sku, "codigo_barras": barcode, "precio": 129900}),
        )
        .expect("json");
        (id, data)
    }

    fn sku_of(found: &[&str]) -> Vec<String> {
        found
            .iter()
            .map(|j| serde_json::from_str::<serde_json::Value>(j).expect("json")["sku"].to_string())
            .map(|s| s.trim_matches('"').to_owned())
            .collect()
    }

    fn sample() -> Catalog {
        let mut catalog = Catalog::new();
        for (n, name, color, sku, barcode) in [
            (3, "Mocasín de piel", "Negro", "MOC-1-NE", "7501000000003"),
            (1, "Oxford clásico", "Negro", "OXF-1-NE", "7501000000001"),
            (2, "Oxford clásico", "Café", "OXF-1-CA", "7501000000002"),
            (4, "Sandalia playa", "Azul", "SAN-1-AZ", "7502000000004"),
        ] {
            let (id, data) = product(n, name, color, sku, barcode);
            catalog.apply(PRODUCTO, id, 1, Some(data));
        }
        catalog
    }

    #[test]
    fn a_barcode_finds_its_product_and_a_prefix_of_digits_finds_all_that_start_so() {
        let catalog = sample();
        assert_eq!(
            sku_of(&[catalog.by_barcode("7501000000002").expect("found")]),
            ["OXF-1-CA"]
        );
        assert!(
            catalog.by_barcode("750100000000").is_none(),
            "a barcode is matched whole"
        );
        assert_eq!(
            sku_of(&catalog.search("7501", 10)),
            ["OXF-1-NE", "OXF-1-CA", "MOC-1-NE"]
        );
        assert_eq!(
            sku_of(&catalog.search("oxf-1", 10)),
            ["OXF-1-CA", "OXF-1-NE"]
        );
    }

    #[test]
    fn every_query_word_must_start_a_word_of_the_product_accents_and_case_aside() {
        let catalog = sample();
        assert_eq!(
            sku_of(&catalog.search("CLASI", 10)),
            ["OXF-1-NE", "OXF-1-CA"]
        );
        assert_eq!(sku_of(&catalog.search("oxford cafe", 10)), ["OXF-1-CA"]);
        assert_eq!(sku_of(&catalog.search("ne o", 10)), ["OXF-1-NE"]);
        assert!(catalog.search("bota", 10).is_empty());
        assert_eq!(catalog.search("negro", 1).len(), 1, "the limit holds");
    }

    #[test]
    fn a_changed_product_is_found_by_its_new_words_only_and_a_deleted_one_not_at_all() {
        let mut catalog = sample();
        let (id, data) = product(1, "Bota vaquera", "Negro", "BOT-1-NE", "7509000000001");
        catalog.apply(PRODUCTO, id, 2, Some(data));
        assert_eq!(sku_of(&catalog.search("oxford", 10)), ["OXF-1-CA"]);
        assert_eq!(sku_of(&catalog.search("vaq", 10)), ["BOT-1-NE"]);
        assert!(catalog.by_barcode("7501000000001").is_none());
        catalog.apply(PRODUCTO, id, 3, None);
        assert!(catalog.search("bota", 10).is_empty());
        assert!(catalog.get(PRODUCTO, id).is_none());
        assert_eq!(catalog.len(), 3);
    }

    #[test]
    fn segments_replayed_in_order_give_the_catalog_and_a_snapshot_gives_it_back() {
        let mut catalog = Catalog::new();
        let (a, data_a) = product(1, "Oxford", "Negro", "OXF-1-NE", "1");
        let (b, data_b) = product(2, "Sandalia", "Azul", "SAN-1-AZ", "2");
        let stock = Uuid::from_u128(9);
        let first = segment_json(&Segment {
            base: false,
            entries: vec![
                Entry {
                    model: PRODUCTO.into(),
                    id: a,
                    version: 1,
                    data: Some(data_a),
                },
                Entry {
                    model: PRODUCTO.into(),
                    id: b,
                    version: 1,
                    data: Some(data_b),
                },
                Entry {
                    model: EXISTENCIA.into(),
                    id: stock,
                    version: 1,
                    data: raw(json!({"cantidad": 4})),
                },
                Entry {
                    model: "ventas.Venta".into(),
                    id: stock,
                    version: 1,
                    data: raw(json!({})),
                },
            ],
        });
        let second = segment_json(&Segment {
            base: false,
            entries: vec![Entry {
                model: PRODUCTO.into(),
                id: b,
                version: 2,
                data: None,
            }],
        });
        catalog.apply_segment(&first).expect("first");
        catalog.apply_segment(&second).expect("second");
        assert_eq!(
            catalog.len(),
            2,
            "one product and its stock; other models are not held"
        );
        assert_eq!(catalog.all(EXISTENCIA), [r#"{"cantidad":4}"#]);

        let snapshot = catalog.snapshot(1);
        assert_eq!(snapshot.len(), 2);
        let mut other = sample();
        for segment in &snapshot {
            other.apply_segment(segment).expect("snapshot");
        }
        assert_eq!(other.len(), 2, "the base segment started the catalog again");
        assert_eq!(sku_of(&other.search("oxford", 10)), ["OXF-1-NE"]);
        assert!(
            catalog.apply_segment("{").is_err(),
            "a torn segment is an error, not a panic"
        );
    }

    #[test]
    fn an_empty_catalog_snapshots_to_one_empty_base_segment() {
        let snapshot = Catalog::new().snapshot(100);
        assert_eq!(snapshot, [r#"{"base":true,"entries":[]}"#]);
    }
}
