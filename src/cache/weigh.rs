//! What a cached sale costs the process in heap bytes, counted the way the
//! allocator hands memory out, so that the cache's byte budget bounds its
//! resident memory rather than a guess at it.
//!
//! # Design
//! - A sale is weighed by walking it ([`HeapSize`]): every `String` and `Vec`
//!   it owns is one allocation of its *capacity*, rounded up to the size class
//!   jemalloc (the binary's allocator, `src/main.rs`) serves it from
//!   ([`allocation`]); parts stored inline count through their parent's
//!   `size_of`. A walk is a few hundred additions: no formatting, no allocation.
//!   (The length of the sale's Debug text it replaces cost a tenth of an
//!   uncached call and missed 30–50% of the heap.)
//! - Each struct lists its fields in an exhaustive pattern ([`heap_size_of_fields`]),
//!   so a field added to the domain without a weight does not compile.
//! - An entry also costs what holds it ([`entry_bytes`]): the `Arc` of the
//!   cached value, the shared sale's own `Arc` and its encoded answer, the
//!   entry's tags, the key moka keeps in an `Arc` of its own, and moka's
//!   bookkeeping per entry ([`MOKA_BYTES_PER_ENTRY`], measured by a spec below).
//! - Not counted: what is per process rather than per entry (moka's fixed
//!   tables, the invalidation stamps, which only writes add), and the allocator's
//!   own slack (partly filled slabs after evictions, pages not yet returned):
//!   the bench `benches/cache_rss.rs` measures what that adds to the resident
//!   set of the real binary with a full cache.

use std::mem::size_of;

use crate::domain::{
    Address, Amount, Billing, Comment, Customer, Invoice, InvoiceId, IpDetail, LineItem, LineItemOption, PayMethod,
    Sale, SaleId, SharedSale, Shipping, VendorValue,
};

/// The bytes an `Arc` allocation holds besides its value: the strong and weak counts.
const ARC_COUNTS: usize = 2 * size_of::<usize>();

/// What moka keeps for each entry besides the key and the value: its entry
/// record and access/write-order deque nodes (each an allocation of its own),
/// the hash table's bucket and slot, and its share of the table's spare slots.
/// About 300 bytes measured on moka 0.12 with a TTL and a weigher, as
/// `CachedSales` builds it; `a_full_cache_weighs_the_heap_it_holds` checks the sum.
pub(super) const MOKA_BYTES_PER_ENTRY: usize = 320;

/// The bytes jemalloc reserves for a request of `bytes`: its size class
/// (8, then steps of 16 up to 128, then four classes per doubling: 160, 192,
/// 224, 256, 320, ...). Nothing for zero bytes, which Rust never allocates.
pub(super) fn allocation(bytes: usize) -> usize {
    match bytes {
        0 => 0,
        1..=8 => 8,
        9..=128 => bytes.next_multiple_of(16),
        _ => {
            let log2_below = usize::BITS - 1 - (bytes - 1).leading_zeros();
            bytes.next_multiple_of(1 << (log2_below - 2))
        }
    }
}

/// The heap a cache entry costs besides the sale's own fields: the value `V` as
/// moka holds it (in an `Arc`), the shared sale's allocation and its encoded
/// answer ([`SharedSale::allocation_bytes`], [`SharedSale::memo_len`]), the tags
/// the entry keeps (`tag_heap`), the key `K` (also in an `Arc`, with an id about
/// as long as the sale's) and moka's bookkeeping.
pub(super) fn entry_bytes<K, V>(sale: &SharedSale, tag_heap: usize) -> usize {
    allocation(ARC_COUNTS + size_of::<V>())
        + allocation(ARC_COUNTS + sale.allocation_bytes())
        + sale.sale().heap_size()
        + memo_bytes(sale.memo_len())
        + tag_heap
        + allocation(ARC_COUNTS + size_of::<K>())
        + allocation(sale.sale().sale_id.as_str().len())
        + MOKA_BYTES_PER_ENTRY
}

/// The heap of an entry's tags: the vector and each tag's id.
pub(super) fn tag_heap(tags: &Vec<super::Tag>) -> usize {
    allocation(tags.capacity() * size_of::<super::Tag>())
        + tags
            .iter()
            .map(|tag| match tag {
                super::Tag::Sale(id) | super::Tag::Invoice(id) | super::Tag::Catalog(id) => allocation(id.capacity()),
            })
            .sum::<usize>()
}

/// The encoded answer's allocation (an `Arc<[u8]>`); none before it is made.
pub(super) fn memo_bytes(len: usize) -> usize {
    if len == 0 { 0 } else { allocation(ARC_COUNTS + len) }
}

/// The heap a value owns (its own `size_of` is its parent's), in allocator size classes.
pub(super) trait HeapSize {
    fn heap_size(&self) -> usize;
}

impl HeapSize for String {
    fn heap_size(&self) -> usize {
        allocation(self.capacity())
    }
}

impl<T: HeapSize> HeapSize for Vec<T> {
    fn heap_size(&self) -> usize {
        allocation(self.capacity() * size_of::<T>()) + self.iter().map(HeapSize::heap_size).sum::<usize>()
    }
}

impl<T: HeapSize> HeapSize for Option<T> {
    fn heap_size(&self) -> usize {
        self.as_ref().map_or(0, HeapSize::heap_size)
    }
}

/// Values stored inline, owning no heap.
macro_rules! no_heap {
    ($($type:ty),* $(,)?) => {
        $(impl HeapSize for $type {
            fn heap_size(&self) -> usize {
                0
            }
        })*
    };
}

no_heap!(Amount, bool);

// Ids are parsed from a borrowed string and copied (`to_owned`): capacity is length.
impl HeapSize for SaleId {
    fn heap_size(&self) -> usize {
        allocation(self.as_str().len())
    }
}

impl HeapSize for InvoiceId {
    fn heap_size(&self) -> usize {
        allocation(self.as_str().len())
    }
}

impl<T> HeapSize for VendorValue<T> {
    fn heap_size(&self) -> usize {
        // The recognised value is a fieldless enum, inline.
        let VendorValue { known: _, raw } = self;
        raw.heap_size()
    }
}

/// The heap of a struct: the sum of its fields', named in an exhaustive
/// pattern so that a new field must be weighed too.
macro_rules! heap_size_of_fields {
    ($($type:ident { $($field:ident),* $(,)? })*) => {
        $(impl HeapSize for $type {
            fn heap_size(&self) -> usize {
                let $type { $($field),* } = self;
                0 $(+ $field.heap_size())*
            }
        })*
    };
}

heap_size_of_fields! {
    Sale {
        sale_id, date_placed, ip_address, ip_country, ip_detail, recurring_decline, customer, invoices, comments,
    }
    IpDetail { address, city, region, country_code }
    Customer {
        customer_id, prefix, first_name, middle_initial, last_name, cardholder_name, email_address, phone,
        phone_extension, language, billing_address, pay_method,
    }
    Address { address_id, address_1, address_2, city, state, postal_code, country_code, country_name }
    PayMethod { method, first_six_digits, last_two_digits, avs, cvv }
    Invoice {
        invoice_id, sale_id, status, usd_total, vendor_total, customer_total, fees_2co, recurring, date_placed,
        date_shipped, date_vendor_paid, referrer, vendor_order_id, vendor_id, line_items, shipping,
    }
    LineItem {
        line_item_id, invoice_id, sale_id, product_id, vendor_product_id, product_name, product_description,
        product_price, product_handling, product_startup_fee, product_recurrence, product_duration, product_tangible,
        product_is_cart, installment, line_type, status, usd_amount, vendor_amount, customer_amount, linked_id,
        affiliate_vendor_id, options, billing,
    }
    LineItemOption {
        line_item_option_id, option_name, option_value, usd_surcharge, vendor_surcharge, customer_surcharge,
    }
    Billing {
        billing_id, usd_amount, vendor_amount, customer_amount, customer_id, bill_method, date_next, date_start,
        date_end, date_fail, date_pending, date_deposited, recurring_status, status,
    }
    Shipping {
        shipping_id, date_shipped, tracking_number, tracking_url, shipping_method_id, shipping_method,
        recipient_name, address,
    }
    Comment { username, timestamp, ip_address, text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_up_to_jemallocs_size_classes() {
        let classes = [
            (0, 0),
            (1, 8),
            (8, 8),
            (9, 16),
            (17, 32),
            (100, 112),
            (128, 128),
            (129, 160),
            (200, 224),
            (257, 320),
            (1000, 1024),
            (1025, 1280),
            (14_336, 14_336),
            (16_385, 20_480),
            (1 << 20, 1 << 20),
            ((1 << 20) + 1, 1_310_720),
        ];
        for (bytes, class) in classes {
            assert_eq!(allocation(bytes), class, "{bytes} bytes");
        }
    }

    #[test]
    fn a_string_weighs_its_capacity_not_its_length() {
        let mut text = String::with_capacity(100);
        text.push_str("short");
        assert_eq!(text.heap_size(), 112);
        assert_eq!(String::new().heap_size(), 0);
        assert_eq!(Some("abc".to_owned()).heap_size(), 8);
    }

    #[test]
    fn a_vec_weighs_its_buffer_and_what_its_items_own() {
        let items = vec![Some("a".repeat(20)), None, Some("b".repeat(3))];
        assert_eq!(items.heap_size(), allocation(3 * size_of::<Option<String>>()) + 32 + 8);
    }
}

/// Specs against the allocator the binary runs on: the lib's unit tests
/// allocate with jemalloc too, so its per-thread counters can tell what a
/// decoded sale and a full cache really hold.
#[cfg(test)]
#[cfg(not(target_env = "msvc"))]
mod measured {
    use std::sync::Arc;

    use super::*;
    use crate::{
        cache::{CacheSettings, CachedSales},
        domain::{CallContext, Error, ListSalesQuery, SaleLookup, SalesPage, SalesPort},
    };

    #[global_allocator]
    static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

    /// Bytes this thread holds: what it allocated less what it freed, in size classes.
    fn held_by_this_thread() -> i64 {
        use tikv_jemalloc_ctl::thread::{allocatedp, deallocatedp};
        let allocated = allocatedp::read().unwrap().get();
        let deallocated = deallocatedp::read().unwrap().get();
        i64::try_from(allocated).unwrap() - i64::try_from(deallocated).unwrap()
    }

    /// A committed detail_sale answer from the fuzz seeds, decoded as the client decodes it.
    fn decoded(target: &str, name: &str, content_type: &str) -> Sale {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target).join(name);
        // The seed's first byte selects the answer kind for the fuzzer.
        let body = std::fs::read(&path).unwrap()[1..].to_vec();
        crate::untrusted::detail_sale(200, content_type, &body).unwrap()
    }

    const SEEDS: [&str; 4] = [
        "detail_sale_documented_200",
        "detail_sale_recurring_200",
        "detail_sale_declined_200",
        "detail_sale_tangible_200",
    ];

    #[test]
    fn a_decoded_sale_weighs_the_heap_it_holds() {
        for (target, content_type) in [("admin_json", "application/json"), ("admin_xml", "application/xml")] {
            for seed in SEEDS {
                // Once first, for anything decoding sets up once per process.
                drop(decoded(target, seed, content_type));
                let before = held_by_this_thread();
                let sale = decoded(target, seed, content_type);
                let held = held_by_this_thread() - before;
                let weighed = i64::try_from(sale.heap_size()).unwrap();
                assert!((weighed - held).abs() * 100 <= held * 3, "{target}/{seed}: weighed {weighed}, held {held}");
            }
        }
    }

    /// Answers every lookup with the same sale under the id asked for.
    struct SameSale(Sale);

    impl SalesPort for SameSale {
        async fn get_sale(&self, _: CallContext, lookup: &SaleLookup) -> Result<Sale, Error> {
            let SaleLookup::BySale(id) = lookup else { unreachable!("the spec looks sales up by id") };
            let mut sale = self.0.clone();
            sale.sale_id = id.clone();
            Ok(sale)
        }

        async fn list_sales(&self, _: CallContext, _: &ListSalesQuery) -> Result<SalesPage, Error> {
            unreachable!("the spec only looks sales up")
        }
    }

    /// Heap held per entry by a cache of `entries` sales, and the weight it reports per entry.
    async fn held_and_weighed_per_entry(entries: u64) -> (f64, f64) {
        let template = decoded("admin_json", "detail_sale_documented_200", "application/json");
        let settings = CacheSettings { ttl: std::time::Duration::from_secs(600), max_bytes: u64::MAX };
        // As the gateway builds it: each entry also holds its encoded GetSale answer.
        let cache = CachedSales::new(Arc::new(SameSale(template)), settings).with_memo(crate::grpc::encode_sale);
        let lookup = |n: u64| SaleLookup::BySale((9_000_000_000 + n).to_string().parse().unwrap());
        // Warm: moka's first entries set up its tables and sketch.
        for n in 0..100 {
            cache.get_shared_sale(CallContext::default(), &lookup(n)).await.unwrap();
        }
        cache.settle().await;
        let (before, weight_before) = (held_by_this_thread(), cache.stats().bytes);
        for n in 100..100 + entries {
            // The answer is dropped at once, as the gRPC layer drops it after writing it.
            cache.get_shared_sale(CallContext::default(), &lookup(n)).await.unwrap();
        }
        cache.settle().await;
        let held = (held_by_this_thread() - before) as f64 / entries as f64;
        let weighed = (cache.stats().bytes - weight_before) as f64 / entries as f64;
        (held, weighed)
    }

    #[test]
    fn a_full_cache_weighs_the_heap_it_holds() {
        // One thread: every allocation and free lands on this thread's counters.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (held, weighed) = runtime.block_on(held_and_weighed_per_entry(20_000));
        assert!((weighed - held).abs() <= held * 0.03, "weighed {weighed:.0} bytes an entry, held {held:.0}");
    }
}
