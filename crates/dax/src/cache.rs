//! The two caches of a DAX node in one memory budget, as DAX has them:
//! - the item cache: full items (or a negative entry for a missing item) by (table, key),
//!   filled by eventually consistent GetItem/BatchGetItem misses and updated by writes;
//! - the query cache: whole Query/Scan pages by the full request, filled by misses and never
//!   touched by writes (DAX semantics: a query result stays until its TTL ends).
//!
//! Each entry is stamped when written; a read of an entry older than its cache's TTL is a miss
//! (reads do not extend it). When the bytes held pass the budget, least recently used entries
//! go first, across both caches (query entries first, then items, by recency within each).
//! Item entries carry the log index of the cache update that wrote them, so a slow miss fill
//! never overwrites a newer write-through image: an invalidation leaves a versioned tombstone
//! (a miss, but it still rejects older fills), and clearing or evicting raises a floor below
//! which fills are refused.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lru::LruCache;
use tessera_model::ops::Page;
use tessera_model::{item_size, Item};

/// Bookkeeping bytes per entry on top of its payload (maps, stamps, list links).
const ENTRY_OVERHEAD: usize = 96;

#[derive(Clone, Copy, Debug)]
pub struct CacheConfig {
    /// Zero: items never expire (only eviction or a write replaces them).
    pub item_ttl: Duration,
    /// Zero: query results are not cached at all.
    pub query_ttl: Duration,
    pub max_bytes: usize,
}

struct ItemEntry {
    item: Option<Arc<Item>>,
    /// False: a tombstone left by an invalidation (reads miss; older fills are refused).
    valid: bool,
    version: u64,
    written: Instant,
    bytes: usize,
}

struct QueryEntry {
    page: Arc<Page>,
    written: Instant,
    bytes: usize,
}

struct Inner {
    items: LruCache<Vec<u8>, ItemEntry>,
    queries: LruCache<Vec<u8>, QueryEntry>,
    bytes: usize,
    /// Fills stamped below this are refused: entries up to it were dropped (cleared or
    /// evicted) and a fill that started earlier could be older than what was dropped.
    fill_floor: u64,
}

/// Counters exported on `/metrics` (names follow DAX's CloudWatch metrics).
#[derive(Default)]
pub struct CacheStats {
    pub item_hits: AtomicU64,
    pub item_negative_hits: AtomicU64,
    pub item_misses: AtomicU64,
    pub query_hits: AtomicU64,
    pub query_misses: AtomicU64,
    pub scan_hits: AtomicU64,
    pub scan_misses: AtomicU64,
    pub evictions: AtomicU64,
    pub evicted_bytes: AtomicU64,
    pub expirations: AtomicU64,
}

pub enum ItemLookup {
    /// A cached item (`None` inside: cached as missing).
    Hit(Option<Arc<Item>>),
    Miss,
}

pub struct Cache {
    config: CacheConfig,
    inner: Mutex<Inner>,
    pub stats: CacheStats,
}

fn expired(written: Instant, ttl: Duration, now: Instant) -> bool {
    !ttl.is_zero() && now.duration_since(written) >= ttl
}

impl Cache {
    pub fn new(config: CacheConfig) -> Cache {
        Cache {
            config,
            inner: Mutex::new(Inner {
                items: LruCache::unbounded(),
                queries: LruCache::unbounded(),
                bytes: 0,
                fill_floor: 0,
            }),
            stats: CacheStats::default(),
        }
    }

    pub fn config(&self) -> CacheConfig {
        self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves only cache entries behind: keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get_item(&self, key: &[u8]) -> ItemLookup {
        let now = Instant::now();
        let mut inner = self.lock();
        let found = match inner.items.get(key) {
            Some(e) if !e.valid => {
                self.stats.item_misses.fetch_add(1, Ordering::Relaxed);
                return ItemLookup::Miss;
            }
            Some(e) if !expired(e.written, self.config.item_ttl, now) => Some(e.item.clone()),
            Some(_) => None,
            None => {
                self.stats.item_misses.fetch_add(1, Ordering::Relaxed);
                return ItemLookup::Miss;
            }
        };
        match found {
            Some(item) => {
                let counter = if item.is_some() {
                    &self.stats.item_hits
                } else {
                    &self.stats.item_negative_hits
                };
                counter.fetch_add(1, Ordering::Relaxed);
                ItemLookup::Hit(item)
            }
            None => {
                if let Some(e) = inner.items.pop(key) {
                    inner.bytes -= e.bytes;
                }
                self.stats.expirations.fetch_add(1, Ordering::Relaxed);
                self.stats.item_misses.fetch_add(1, Ordering::Relaxed);
                ItemLookup::Miss
            }
        }
    }

    /// Stores an item image (None: known missing) written by the cache update at log index
    /// `version`.
    pub fn put_item(&self, key: Vec<u8>, item: Option<Item>, version: u64) {
        self.store_item(key, item, true, version, false);
    }

    /// Stores what a miss read from storage; `version` is the log index applied when the read
    /// began, so the fill loses to any write-through or invalidation applied since.
    pub fn fill_item(&self, key: Vec<u8>, item: Option<Item>, version: u64) {
        self.store_item(key, item, true, version, true);
    }

    fn store_item(&self, key: Vec<u8>, item: Option<Item>, valid: bool, version: u64, fill: bool) {
        let bytes = key.len() + item.as_ref().map_or(0, item_size) + ENTRY_OVERHEAD;
        let mut inner = self.lock();
        if fill && version < inner.fill_floor {
            return;
        }
        if let Some(old) = inner.items.peek(&key) {
            // A fill must be strictly newer than a write or invalidation it could have missed.
            if old.version > version || (fill && !old.valid && old.version >= version) {
                return;
            }
        }
        let entry = ItemEntry {
            item: item.map(Arc::new),
            valid,
            version,
            written: Instant::now(),
            bytes,
        };
        if let Some(old) = inner.items.put(key, entry) {
            inner.bytes -= old.bytes;
        }
        inner.bytes += bytes;
        self.evict(&mut inner);
    }

    /// Marks an item's image unknown as of log index `version`: reads miss, and fills that
    /// began before it are refused.
    pub fn invalidate_item(&self, key: &[u8], version: u64) {
        self.store_item(key.to_vec(), None, false, version, false);
    }

    pub fn get_query(&self, key: &[u8], scan: bool) -> Option<Arc<Page>> {
        let (hits, misses) = if scan {
            (&self.stats.scan_hits, &self.stats.scan_misses)
        } else {
            (&self.stats.query_hits, &self.stats.query_misses)
        };
        let now = Instant::now();
        let mut inner = self.lock();
        let page = match inner.queries.get(key) {
            Some(e) if !expired(e.written, self.config.query_ttl, now) => Some(e.page.clone()),
            Some(_) => {
                if let Some(e) = inner.queries.pop(key) {
                    inner.bytes -= e.bytes;
                }
                self.stats.expirations.fetch_add(1, Ordering::Relaxed);
                None
            }
            None => None,
        };
        match page {
            Some(p) => {
                hits.fetch_add(1, Ordering::Relaxed);
                Some(p)
            }
            None => {
                misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    pub fn put_query(&self, key: Vec<u8>, page: Page) {
        if self.config.query_ttl.is_zero() {
            return;
        }
        let bytes = key.len()
            + page.items.iter().map(item_size).sum::<usize>()
            + page.last_evaluated_key.as_ref().map_or(0, item_size)
            + ENTRY_OVERHEAD;
        let mut inner = self.lock();
        let entry = QueryEntry {
            page: Arc::new(page),
            written: Instant::now(),
            bytes,
        };
        if let Some(old) = inner.queries.put(key, entry) {
            inner.bytes -= old.bytes;
        }
        inner.bytes += bytes;
        self.evict(&mut inner);
    }

    /// Forgets every item as of log index `version` (a snapshot installed, a new primary's
    /// term begun); fills that began before it are refused.
    pub fn clear_items(&self, version: u64) {
        let mut inner = self.lock();
        let freed: usize = inner.items.iter().map(|(_, e)| e.bytes).sum();
        inner.items.clear();
        inner.bytes -= freed;
        inner.fill_floor = inner.fill_floor.max(version);
    }

    fn evict(&self, inner: &mut Inner) {
        while inner.bytes > self.config.max_bytes {
            // Query results are the cheaper loss (writes never refresh them anyway).
            let freed = match inner.queries.pop_lru() {
                Some((_, e)) => e.bytes,
                None => match inner.items.pop_lru() {
                    Some((_, e)) => {
                        inner.fill_floor = inner.fill_floor.max(e.version);
                        e.bytes
                    }
                    None => break,
                },
            };
            inner.bytes -= freed;
            self.stats.evictions.fetch_add(1, Ordering::Relaxed);
            self.stats.evicted_bytes.fetch_add(freed as u64, Ordering::Relaxed);
        }
    }

    /// (bytes held, item entries, query entries).
    pub fn size(&self) -> (usize, usize, usize) {
        let inner = self.lock();
        (inner.bytes, inner.items.len(), inner.queries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_model::AttributeValue;

    fn item(v: &str) -> Item {
        let mut i = Item::new();
        i.insert("pk".into(), AttributeValue::S(v.into()));
        i
    }

    fn cache(item_ttl_ms: u64, max_bytes: usize) -> Cache {
        Cache::new(CacheConfig {
            item_ttl: Duration::from_millis(item_ttl_ms),
            query_ttl: Duration::from_millis(item_ttl_ms),
            max_bytes,
        })
    }

    #[test]
    fn hits_misses_and_negative_entries() {
        let c = cache(60_000, 1 << 20);
        assert!(matches!(c.get_item(b"k"), ItemLookup::Miss));
        c.put_item(b"k".to_vec(), Some(item("a")), 1);
        assert!(matches!(c.get_item(b"k"), ItemLookup::Hit(Some(_))));
        c.put_item(b"gone".to_vec(), None, 1);
        assert!(matches!(c.get_item(b"gone"), ItemLookup::Hit(None)));
        assert_eq!(c.stats.item_hits.load(Ordering::Relaxed), 1);
        assert_eq!(c.stats.item_negative_hits.load(Ordering::Relaxed), 1);
        assert_eq!(c.stats.item_misses.load(Ordering::Relaxed), 1);
        c.invalidate_item(b"k", 2);
        assert!(matches!(c.get_item(b"k"), ItemLookup::Miss));
    }

    #[test]
    fn fills_older_than_an_invalidation_or_a_clear_are_refused() {
        let c = cache(60_000, 1 << 20);
        c.put_item(b"k".to_vec(), Some(item("a")), 5);
        c.invalidate_item(b"k", 7);
        // A miss whose read began at index 6 (before the invalidation) may hold the old value.
        c.fill_item(b"k".to_vec(), Some(item("a")), 6);
        assert!(matches!(c.get_item(b"k"), ItemLookup::Miss));
        c.fill_item(b"k".to_vec(), Some(item("b")), 8);
        assert!(matches!(c.get_item(b"k"), ItemLookup::Hit(Some(_))));
        c.clear_items(20);
        c.fill_item(b"other".to_vec(), Some(item("x")), 19);
        assert!(matches!(c.get_item(b"other"), ItemLookup::Miss));
        c.fill_item(b"other".to_vec(), Some(item("x")), 20);
        assert!(matches!(c.get_item(b"other"), ItemLookup::Hit(Some(_))));
    }

    #[test]
    fn an_older_fill_never_replaces_a_newer_write() {
        let c = cache(60_000, 1 << 20);
        c.put_item(b"k".to_vec(), Some(item("new")), 10);
        c.put_item(b"k".to_vec(), Some(item("stale")), 9);
        match c.get_item(b"k") {
            ItemLookup::Hit(Some(i)) => assert_eq!(i.get("pk"), Some(&AttributeValue::S("new".into()))),
            _ => panic!("expected a hit"),
        }
    }

    #[test]
    fn entries_expire_after_their_ttl() {
        let c = cache(30, 1 << 20);
        c.put_item(b"k".to_vec(), Some(item("a")), 1);
        c.put_query(b"q".to_vec(), Page::default());
        std::thread::sleep(Duration::from_millis(40));
        assert!(matches!(c.get_item(b"k"), ItemLookup::Miss));
        assert!(c.get_query(b"q", false).is_none());
        assert_eq!(c.size().0, 0);
    }

    #[test]
    fn the_byte_budget_holds_and_recent_entries_survive() {
        let c = cache(60_000, 20_000);
        for i in 0..1000u32 {
            c.put_item(i.to_be_bytes().to_vec(), Some(item(&"x".repeat(100))), 1);
            assert!(c.size().0 <= 20_000);
        }
        assert!(c.stats.evictions.load(Ordering::Relaxed) > 900);
        assert!(matches!(c.get_item(&999u32.to_be_bytes()), ItemLookup::Hit(Some(_))));
        assert!(matches!(c.get_item(&0u32.to_be_bytes()), ItemLookup::Miss));
    }

    #[test]
    fn zero_query_ttl_disables_the_query_cache() {
        let c = Cache::new(CacheConfig {
            item_ttl: Duration::ZERO,
            query_ttl: Duration::ZERO,
            max_bytes: 1 << 20,
        });
        c.put_query(b"q".to_vec(), Page::default());
        assert!(c.get_query(b"q", true).is_none());
        c.put_item(b"k".to_vec(), Some(item("a")), 1);
        assert!(matches!(c.get_item(b"k"), ItemLookup::Hit(Some(_))));
    }
}
