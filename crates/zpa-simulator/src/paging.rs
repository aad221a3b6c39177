//! mgmtconfig pagination: 1-based `page`, `pagesize` default 20, max 500
//! (larger values are clamped), and the `{"totalPages","totalCount","list"}` envelope.

use serde_json::Value;

use super::error::ApiError;
use super::query::Params;
use zpa_wire::mgmt::PageBy;
use zpa_wire::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based.
    pub page: u64,
    pub size: u64,
}

impl PageRequest {
    pub fn new(page: Option<u64>, size: Option<u64>) -> Self {
        let page = page.filter(|p| *p > 0).unwrap_or(1);
        let size = match size {
            None | Some(0) => u64::from(DEFAULT_PAGE_SIZE),
            Some(s) => s.min(u64::from(MAX_PAGE_SIZE)),
        };
        Self { page, size }
    }

    /// From `page` and `pagesize` (or `pageSize`) query parameters.
    pub fn from_params(params: &Params) -> Result<Self, ApiError> {
        let number = |names: &[&str], field: &str| -> Result<Option<u64>, ApiError> {
            match params.get_any(names).map(str::trim) {
                None | Some("") => Ok(None),
                Some(raw) => raw
                    .parse::<u64>()
                    .map(Some)
                    .map_err(|_| ApiError::invalid_argument(field, format!("Invalid value '{raw}' for {field}."))),
            }
        };
        Ok(Self::new(number(&["page"], "page")?, number(&["pagesize", "pageSize"], "pagesize")?))
    }

    pub fn from_page_by(page_by: Option<&PageBy>) -> Self {
        Self::new(page_by.and_then(|p| p.page), page_by.and_then(|p| p.page_size))
    }

    /// Cuts one page out of `items`. `with_current_count` adds `currentCount`
    /// (the isolation profile list sends it; the Microtenant list does not).
    pub fn paginate(self, items: Vec<Value>, with_current_count: bool) -> Page<Value> {
        let total = items.len() as u64;
        let total_pages = total.div_ceil(self.size);
        let skip = (self.page - 1).saturating_mul(self.size);
        let list: Vec<Value> = items
            .into_iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .take(usize::try_from(self.size).unwrap_or(usize::MAX))
            .collect();
        Page {
            total_pages,
            total_count: Some(total),
            current_count: with_current_count.then_some(list.len() as u64),
            list,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn items(n: usize) -> Vec<Value> {
        (0..n).map(|i| json!(i)).collect()
    }

    #[test]
    fn defaults_and_clamping() {
        assert_eq!(PageRequest::new(None, None), PageRequest { page: 1, size: 20 });
        assert_eq!(PageRequest::new(Some(0), Some(0)), PageRequest { page: 1, size: 20 });
        assert_eq!(PageRequest::new(Some(3), Some(10_000)), PageRequest { page: 3, size: 500 });
    }

    #[test]
    fn pages_cover_every_item_once() {
        let request = PageRequest::new(Some(3), Some(500));
        let page = request.paginate(items(1_201), false);
        assert_eq!(page.total_pages, 3);
        assert_eq!(page.total_count, Some(1_201));
        assert_eq!(page.list.len(), 201);
        assert_eq!(page.list[0], json!(1_000));
        assert_eq!(page.current_count, None);
        let beyond = PageRequest::new(Some(4), Some(500)).paginate(items(1_201), true);
        assert!(beyond.list.is_empty());
        assert_eq!(beyond.current_count, Some(0));
        assert_eq!(PageRequest::new(None, None).paginate(Vec::new(), false).total_pages, 0);
    }

    #[test]
    fn query_parameters_are_validated() {
        let ok = PageRequest::from_params(&Params::parse(Some("page=2&pagesize=50"))).unwrap();
        assert_eq!(ok, PageRequest { page: 2, size: 50 });
        let camel = PageRequest::from_params(&Params::parse(Some("pageSize=7"))).unwrap();
        assert_eq!(camel.size, 7);
        let bad = PageRequest::from_params(&Params::parse(Some("page=abc"))).unwrap_err();
        assert_eq!(bad.status, axum::http::StatusCode::BAD_REQUEST);
    }
}
