//! A sale as a port hands it out: immutable and shared, so handing it out
//! again (a cache hit) costs a reference count, not a copy of ~200 strings.
//!
//! It carries one opaque memo: a byte form of itself that the serving edge
//! makes once and reuses (the gRPC edge keeps the encoded Sale message there,
//! so a cache hit writes bytes and encodes nothing). The domain never reads
//! the memo and does not know what format it holds; because the sale cannot
//! change, the memo can never disagree with it, and it lives and dies with
//! the sale it was made from: a sale fetched anew starts with an empty one.

use std::sync::{Arc, OnceLock};

use super::Sale;

/// A shared, immutable sale and the memo of its serialised form.
#[derive(Clone, Debug)]
pub struct SharedSale(Arc<Memoised>);

#[derive(Debug)]
struct Memoised {
    sale: Sale,
    memo: OnceLock<Arc<[u8]>>,
}

impl SharedSale {
    pub fn new(sale: Sale) -> Self {
        Self(Arc::new(Memoised { sale, memo: OnceLock::new() }))
    }

    pub fn sale(&self) -> &Sale {
        &self.0.sale
    }

    /// The memo, made by `make` if this is the first time it is asked for.
    ///
    /// Callers racing on the first ask may each make it (one is kept): making
    /// it is pure and short, and a worker thread never waits on another's.
    pub fn memo(&self, make: impl FnOnce(&Sale) -> Vec<u8>) -> Arc<[u8]> {
        if let Some(memo) = self.0.memo.get() {
            return Arc::clone(memo);
        }
        let made: Arc<[u8]> = make(&self.0.sale).into();
        Arc::clone(self.0.memo.get_or_init(|| made))
    }

    /// The bytes of the one allocation behind every handle: the sale's fields
    /// and the memo's slot, not what they point to (for memory budgets).
    pub fn allocation_bytes(&self) -> usize {
        std::mem::size_of::<Memoised>()
    }

    /// The memo's length in bytes, 0 before it is made (for memory budgets).
    pub fn memo_len(&self) -> usize {
        self.0.memo.get().map_or(0, |memo| memo.len())
    }
}

impl From<Sale> for SharedSale {
    fn from(sale: Sale) -> Self {
        Self::new(sale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SaleId;

    fn sale() -> Sale {
        serde_json::from_value(serde_json::json!({ "sale_id": "1", "invoices": [], "comments": [] })).unwrap()
    }

    #[test]
    fn the_memo_is_made_once_and_shared_by_every_handle() {
        let shared = SharedSale::new(sale());
        let again = shared.clone();
        let made = std::sync::atomic::AtomicU32::new(0);
        let make = |sale: &Sale| {
            made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            sale.sale_id.to_string().into_bytes()
        };
        assert_eq!(shared.memo_len(), 0);
        assert_eq!(&*shared.memo(make), b"1");
        assert_eq!(&*again.memo(make), b"1");
        assert_eq!((made.into_inner(), again.memo_len()), (1, 1));
        assert_eq!(again.sale().sale_id, "1".parse::<SaleId>().unwrap());
    }

    #[test]
    fn a_sale_shared_anew_starts_without_a_memo() {
        let first = SharedSale::new(sale());
        first.memo(|_| b"old".to_vec());
        let fetched_again = SharedSale::new(first.sale().clone());
        assert_eq!(&*fetched_again.memo(|_| b"new".to_vec()), b"new");
    }
}
