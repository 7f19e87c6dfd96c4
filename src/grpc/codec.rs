//! The protobuf codec of every generated service: tonic's prost codec, except
//! that bytes which are not valid protobuf for the method's message are
//! INVALID_ARGUMENT (`MALFORMED_REQUEST`) instead of tonic's INTERNAL: the
//! caller sent them, and nothing inside the gateway is broken.
//!
//! build.rs plugs it in (`codec_path`) for servers and clients alike; the
//! gateway serves and never calls its own contract, so only the specs' and
//! benchmarks' clients would see an undecodable answer called malformed.

use std::marker::PhantomData;

use prost::Message;
use tonic::{
    Status,
    codec::{BufferSettings, Codec, DecodeBuf, Decoder},
};
use tonic_prost::ProstEncoder;

use crate::domain::Error;

/// Encodes with prost and decodes with [`RequestDecoder`].
#[derive(Debug)]
pub struct GatewayCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for GatewayCodec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T, U> Codec for GatewayCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = RequestDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::new(BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        RequestDecoder(PhantomData)
    }
}

/// Decodes one message; invalid protobuf is a caller's error.
#[derive(Debug)]
pub struct RequestDecoder<U>(PhantomData<U>);

impl<U: Message + Default> Decoder for RequestDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        // prost's message names the message, field and wire problem, never the caller's bytes.
        U::decode(buf).map(Some).map_err(|error| Error::MalformedRequest { detail: error.to_string() }.into())
    }

    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::default()
    }
}
