//! GetSale's answer as the gateway serves it: the Sale message encoded once
//! per cached sale and then written as bytes on every hit, with no
//! conversion, copy of the sale or protobuf encoding per call.
//!
//! `GetSaleResponse` has one field, `Sale sale = 1`; a message field is on
//! the wire exactly what a `bytes` field holding that message's encoding is
//! (tag 1, length-delimited). So [`EncodedGetSaleResponse`] writes the tag,
//! the length and the memoised bytes, and callers decode an ordinary
//! `GetSaleResponse`. The SalesService server the gateway runs is generated
//! with this type as GetSale's answer (build.rs, second pass); the contract,
//! the descriptor set served by reflection and every client are the ordinary
//! generated ones.
//!
//! The bytes are the sale's memo ([`SharedSale::memo`]), made by
//! [`encode_sale`]; the cache makes it as it stores the sale, so it lives and
//! dies with that entry.

use std::sync::Arc;

use prost::{
    DecodeError, Message,
    bytes::{Buf, BufMut},
    encoding::{self, DecodeContext, WireType},
};

use super::super::proto;
use crate::domain::{Sale, SharedSale};

/// `GetSaleResponse.sale`'s field number.
const SALE: u32 = 1;

/// The Sale message of `sale`, encoded: the memo GetSale answers with.
pub fn encode_sale(sale: &Sale) -> Vec<u8> {
    proto::Sale::from(sale).encode_to_vec()
}

/// A `GetSaleResponse` whose `sale` is already encoded; on the wire, the same
/// message as `proto::GetSaleResponse { sale: Some(..) }`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodedGetSaleResponse {
    /// The encoded Sale message (without its tag and length).
    sale: Arc<[u8]>,
}

impl EncodedGetSaleResponse {
    /// The answer for `sale`, from its memo (made here if nothing made it yet).
    pub fn of(sale: &SharedSale) -> Self {
        Self { sale: sale.memo(encode_sale) }
    }
}

impl Message for EncodedGetSaleResponse {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        // Always written, even empty: `sale` is always set, as in the ordinary message.
        encoding::encode_key(SALE, WireType::LengthDelimited, buf);
        encoding::encode_varint(self.sale.len() as u64, buf);
        buf.put_slice(&self.sale);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        // Only for completeness (the gateway never decodes its own answer): the
        // last `sale` wins whole, where a Sale message would merge its fields.
        if tag == SALE {
            let mut sale = Vec::new();
            encoding::bytes::merge(wire_type, &mut sale, buf, ctx)?;
            self.sale = sale.into();
            Ok(())
        } else {
            encoding::skip_field(wire_type, tag, buf, ctx)
        }
    }

    fn encoded_len(&self) -> usize {
        encoding::key_len(SALE) + encoding::encoded_len_varint(self.sale.len() as u64) + self.sale.len()
    }

    fn clear(&mut self) {
        self.sale = Arc::default();
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::{Amount, Comment};

    /// The documented sale (4647892238), as the Admin API client reads it from the simulator's answer.
    fn documented_sale() -> Sale {
        let body = include_bytes!("../../../crates/tco-simulator/src/fixtures/detail_sale_4647892238.json");
        crate::untrusted::detail_sale(200, crate::untrusted::JSON, body).unwrap()
    }

    /// What the gateway answered before this type existed, and what callers decode.
    fn ordinary(sale: &Sale) -> proto::GetSaleResponse {
        proto::GetSaleResponse { sale: Some(proto::Sale::from(sale.clone())) }
    }

    fn served(sale: Sale) -> Vec<u8> {
        EncodedGetSaleResponse::of(&SharedSale::new(sale)).encode_to_vec()
    }

    #[test]
    fn the_documented_sale_is_served_as_the_very_bytes_of_the_ordinary_answer() {
        let sale = documented_sale();
        let served = served(sale.clone());
        assert_eq!(served, ordinary(&sale).encode_to_vec());
        let decoded = proto::GetSaleResponse::decode(&*served).unwrap();
        assert_eq!(decoded, ordinary(&sale));
        assert_eq!(decoded.sale.unwrap().invoices.len(), 2, "the whole sale, not a default");
    }

    #[test]
    fn the_contracts_get_sale_response_is_still_the_one_field_this_type_writes() {
        let descriptors = prost_types::FileDescriptorSet::decode(proto::FILE_DESCRIPTOR_SET).unwrap();
        let message = descriptors
            .file
            .iter()
            .filter(|file| file.package() == "twocheckout.v1")
            .flat_map(|file| &file.message_type)
            .find(|message| message.name() == "GetSaleResponse")
            .unwrap();
        let fields: Vec<_> =
            message.field.iter().map(|f| (f.number(), f.name(), f.type_name(), f.label().as_str_name())).collect();
        // A new field must be written by EncodedGetSaleResponse too, or callers would never see it.
        assert_eq!(fields, [(1, "sale", ".twocheckout.v1.Sale", "LABEL_OPTIONAL")]);
    }

    #[test]
    fn a_sale_with_nothing_but_its_id_is_still_an_answer_with_a_sale() {
        let sale: Sale =
            serde_json::from_value(serde_json::json!({ "sale_id": "1", "invoices": [], "comments": [] })).unwrap();
        let decoded = proto::GetSaleResponse::decode(&*served(sale.clone())).unwrap();
        assert_eq!(decoded, ordinary(&sale));
    }

    #[test]
    fn the_encoded_length_is_the_length_written_and_it_decodes_what_it_encodes() {
        let response = EncodedGetSaleResponse::of(&SharedSale::new(documented_sale()));
        let bytes = response.encode_to_vec();
        assert_eq!(response.encoded_len(), bytes.len());
        assert_eq!(EncodedGetSaleResponse::decode(&*bytes).unwrap(), response);
    }

    #[test]
    fn the_memo_made_by_the_cache_is_the_one_served() {
        let sale = SharedSale::new(documented_sale());
        let made_at_store = sale.memo(encode_sale);
        assert!(Arc::ptr_eq(&made_at_store, &EncodedGetSaleResponse::of(&sale).sale), "not encoded again");
    }

    fn text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(prop_oneof![Just(String::new()), "\\PC{0,40}", Just("\u{0}é🙂".to_owned())])
    }

    fn amount() -> impl Strategy<Value = Option<Amount>> {
        proptest::option::of(any::<i64>().prop_map(Amount::from_minor_units))
    }

    /// The documented sale with its text, money and repeated parts replaced at random.
    fn generated_sale() -> impl Strategy<Value = Sale> {
        let comment = (text(), text()).prop_map(|(username, text)| Comment {
            username,
            timestamp: None,
            ip_address: Some("192.0.2.1".into()),
            text,
        });
        (
            (text(), text(), text()),
            (amount(), amount(), amount()),
            (0..4usize, 0..4usize),
            proptest::collection::vec(comment, 0..4),
        )
            .prop_map(|((placed, name, product), (usd, vendor, option), (invoices, lines), comments)| {
                let mut sale = documented_sale();
                sale.date_placed = placed;
                if let Some(customer) = sale.customer.as_mut() {
                    customer.first_name = name;
                }
                let invoice = sale.invoices[0].clone();
                sale.invoices = vec![invoice; invoices];
                for invoice in &mut sale.invoices {
                    invoice.usd_total = usd;
                    let line = invoice.line_items[0].clone();
                    invoice.line_items = vec![line; lines];
                    for line in &mut invoice.line_items {
                        line.product_name.clone_from(&product);
                        line.vendor_amount = vendor;
                        for o in &mut line.options {
                            o.usd_surcharge = option;
                        }
                    }
                }
                sale.comments = comments;
                sale
            })
    }

    proptest! {
        #[test]
        fn any_sale_is_served_as_a_get_sale_response_decoding_to_its_ordinary_conversion(sale in generated_sale()) {
            let served = served(sale.clone());
            prop_assert_eq!(&served, &ordinary(&sale).encode_to_vec());
            prop_assert_eq!(proto::GetSaleResponse::decode(&*served).unwrap(), ordinary(&sale));
        }
    }
}
