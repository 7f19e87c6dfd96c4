//! AccountService requests into validated values: the reads take no
//! argument but `fresh`, and ListPayments a page (paged by the gateway:
//! 2Checkout answers every payout at once).

use super::super::{page_request, proto};
use crate::domain::{Error, PageRequest};

/// The page a ListPayments asks for.
pub fn payments_page(r: &proto::ListPaymentsRequest) -> Result<PageRequest, Error> {
    page_request(r.page, r.page_size, PageRequest::DEFAULT_PAGE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payments_page_defaults_like_every_listing_and_names_a_bad_size() {
        let page = |page, page_size| payments_page(&proto::ListPaymentsRequest { page, page_size, fresh: false });
        assert_eq!(page(0, 0).unwrap(), PageRequest { page: 1, page_size: 20 });
        assert!(matches!(page(1, 500), Err(Error::InvalidField { field, .. }) if field == "page_size"));
        assert!(matches!(page(-2, 0), Err(Error::InvalidField { field, .. }) if field == "page"));
    }
}
