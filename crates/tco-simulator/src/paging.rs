//! Paging of the Admin API's listings (list_sales, list_products, list_options): `cur_page`,
//! `pagesize` and `sort_dir` read one way, and one `page_info` shape for every listing.

use serde_json::{Value, json};

use super::params::Params;
use super::render::ApiError;
use super::sales::all_digits;

/// The page size when the client sends none.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// The largest page size accepted.
pub const MAX_PAGE_SIZE: u64 = 100;

/// `cur_page`, `pagesize` and `sort_dir` of a paged listing, validated as the reference says.
pub struct Paging {
    pub cur_page: u64,
    pub page_size: u64,
    /// `None` when the client sent no `sort_dir`.
    pub descending: Option<bool>,
}

impl Paging {
    pub fn parse(params: &Params) -> Result<Paging, ApiError> {
        let number = |name: &str| -> Result<Option<u64>, ApiError> {
            match params.get(name) {
                None => Ok(None),
                Some(value) if all_digits(value) => Ok(Some(value.parse().unwrap_or(u64::MAX))),
                Some(_) => Err(ApiError::parameter_invalid(name)),
            }
        };
        let cur_page = match number("cur_page")? {
            None => 1,
            Some(page) if page >= 1 => page,
            Some(_) => return Err(ApiError::parameter_invalid("cur_page")),
        };
        let page_size = match number("pagesize")? {
            None => DEFAULT_PAGE_SIZE,
            Some(size) if (1..=MAX_PAGE_SIZE).contains(&size) => size,
            Some(_) => return Err(ApiError::parameter_invalid("pagesize")),
        };
        Ok(Paging { cur_page, page_size, descending: None })
    }

    /// Reads `sort_dir` (`ASC`/`DESC`, any case); call after `sort_col`, the reference's order.
    pub fn with_direction(mut self, params: &Params) -> Result<Paging, ApiError> {
        self.descending = match params.get("sort_dir") {
            None => None,
            Some(value) if value.eq_ignore_ascii_case("asc") => Some(false),
            Some(value) if value.eq_ignore_ascii_case("desc") => Some(true),
            Some(_) => return Err(ApiError::parameter_invalid("sort_dir")),
        };
        Ok(self)
    }

    /// The rows of the page asked for and list_sales' `page_info` for them. An empty listing or
    /// a page past the end is RECORD_NOT_FOUND, as the live API answers.
    pub fn page<T>(
        &self,
        rows: Vec<T>,
        origin: &str,
        path: &str,
        params: &Params,
    ) -> Result<(Vec<T>, Value), ApiError> {
        let total_entries = rows.len() as u64;
        let last_page = total_entries.div_ceil(self.page_size);
        if total_entries == 0 || self.cur_page > last_page {
            return Err(ApiError::record_not_found());
        }
        // cur_page <= last_page here, so these stay within the row count.
        let first_index = (self.cur_page - 1) * self.page_size;
        let last_entry = total_entries.min(self.cur_page * self.page_size);
        let page_url = |page: u64| page_url(origin, path, params, page);
        let page_info = json!({
            "cur_page": self.cur_page.to_string(),
            "first_entry": first_index + 1,
            "first_page": 1,
            "first_page_url": page_url(1),
            "last_entry": last_entry.to_string(),
            "last_page": last_page,
            "last_page_url": page_url(last_page),
            "next_page": (self.cur_page < last_page).then(|| page_url(self.cur_page + 1)),
            "pagesize": self.page_size.to_string(),
            "previous_page": (self.cur_page > 1).then(|| page_url(self.cur_page - 1)),
            "total_entries": total_entries.to_string(),
        });
        let rows = rows.into_iter().skip(first_index as usize).take(self.page_size as usize).collect();
        Ok((rows, page_info))
    }
}

/// The same listing at another page: `cur_page` first, then the client's other parameters in
/// the order it sent them .
fn page_url(origin: &str, path: &str, params: &Params, page: u64) -> String {
    let page = page.to_string();
    let mut pairs: Vec<(&str, &str)> = vec![("cur_page", page.as_str())];
    pairs.extend(
        params
            .pairs()
            .iter()
            .filter(|(name, _)| name != "cur_page")
            .map(|(name, value)| (name.as_str(), value.as_str())),
    );
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!("{origin}/api/{path}?{query}")
}
