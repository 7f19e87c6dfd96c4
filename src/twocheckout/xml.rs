//! Reads an Admin API XML body straight into the serde wire types, the ones JSON decodes
//! into, without building a tree first.
//!
//! The XML shape (inferred from clients that ran against the live API in both
//! formats): one root element whose name is not relied upon; its children are
//! the JSON top-level keys; an array is the element repeated under the key's
//! name with no wrapper; JSON `null` is an empty element; no attributes. A
//! one-element list and a single object look alike here, so the
//! [`Deserializer`] offers an element with child elements, together with the
//! siblings of the same name that follow it, as a sequence when the wire type
//! asks for "anything" (a [`Many`](super::wire::Many) list), and as a map when it asks for a
//! struct; text is a string (borrowed from the body unless it holds entities),
//! and an empty element is `null`, which the wire types read as "absent" or "empty
//! list". Elements the wire types do not name are skipped without being built.
//!
//! The limits are counted as the events are read, whichever wire type is being
//! filled or skipped: elements nest at most [`MAX_NESTING_DEPTH`] levels and a
//! document holds at most [`MAX_XML_ELEMENTS`] elements, so nothing past them is
//! read, and what was decoded before the refusal is bounded by them. The reader
//! recurses only along the wire types' own nesting (a few levels): a skipped
//! element is read in a loop, however deep.
//!
//! [`to_json`] builds the JSON value the XML stands for; only the debug log's
//! description of an unexpected answer uses it.

use std::borrow::Cow;

use quick_xml::{
    Reader,
    escape::resolve_predefined_entity,
    events::{BytesRef, BytesStart, Event},
};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::limits::{MAX_NESTING_DEPTH, MAX_XML_ELEMENTS, TooComplex};

/// Why an XML body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum XmlError {
    #[error("malformed XML: {0}")]
    Malformed(String),
    /// Nested deeper than [`MAX_NESTING_DEPTH`], or more than [`MAX_XML_ELEMENTS`] elements.
    #[error("XML {0}")]
    TooComplex(TooComplex),
    /// Well-formed so far, but not the shape the wire type expects (serde's message).
    #[error("{0}")]
    Shape(String),
}

impl de::Error for XmlError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self::Shape(msg.to_string())
    }
}

/// Decodes an XML answer into a wire type.
pub fn from_str<'a, T: de::Deserialize<'a>>(text: &'a str) -> Result<T, XmlError> {
    let mut reader = Deserializer::new(text);
    let value = T::deserialize(&mut reader)?;
    reader.end()?;
    Ok(value)
}

/// Decodes an XML answer into a wire type; `Err` is the path of what could not be read
/// (`sale.invoices[0].usd_total`), or `.` when it follows the root element.
pub fn from_str_with_path<'a, T: de::Deserialize<'a>>(text: &'a str) -> Result<T, String> {
    let mut reader = Deserializer::new(text);
    let value = serde_path_to_error::deserialize(&mut reader).map_err(|e| e.path().to_string())?;
    reader.end().map_err(|_| ".".to_owned())?;
    Ok(value)
}

/// Whether a body is well-formed XML of the answers' shape (a root element with child
/// elements) within the limits, reading it to its end without building anything.
pub fn check(text: &str) -> Result<(), XmlError> {
    from_str::<IgnoredAny>(text).map(drop)
}

/// A pull reader of one document that serde's wire types are decoded from: the
/// document's root element is a map of its children.
pub struct Deserializer<'a> {
    reader: Reader<&'a [u8]>,
    /// An event read but handed back (the first child of an element whose content was
    /// looked at, or the element after a list, which is not part of it).
    peeked: Option<Event<'a>>,
    depth: usize,
    elements: usize,
}

/// An element's content, once read up to its first child element or its end.
enum Content<'a> {
    /// Not read yet: the element's start tag was the last event.
    Unread,
    /// `<x/>` or `<x></x>`.
    Empty,
    /// Text only (entities resolved), its end tag read.
    Text(Cow<'a, str>),
    /// Child elements: the first one is peeked (text beside them is ignored).
    Children,
}

impl<'a> Deserializer<'a> {
    fn new(text: &'a str) -> Self {
        Self { reader: Reader::from_str(text), peeked: None, depth: 0, elements: 0 }
    }

    /// The next event, counted against the limits when it is first read.
    fn next(&mut self) -> Result<Event<'a>, XmlError> {
        if let Some(event) = self.peeked.take() {
            return Ok(event);
        }
        let event = self
            .reader
            .read_event()
            .map_err(|e| XmlError::Malformed(format!("at byte {}: {e}", self.reader.buffer_position())))?;
        match &event {
            Event::Start(_) => {
                if self.depth >= MAX_NESTING_DEPTH {
                    return Err(XmlError::TooComplex(TooComplex::Nesting));
                }
                self.count_element()?;
                self.depth += 1;
            }
            Event::Empty(_) => self.count_element()?,
            Event::End(_) => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
        Ok(event)
    }

    fn count_element(&mut self) -> Result<(), XmlError> {
        self.elements += 1;
        if self.elements > MAX_XML_ELEMENTS { Err(XmlError::TooComplex(TooComplex::Elements)) } else { Ok(()) }
    }

    /// Reads an opened element's content up to its first child element (handed back)
    /// or its end tag.
    fn content(&mut self) -> Result<Content<'a>, XmlError> {
        let mut text: Option<Cow<'a, str>> = None;
        loop {
            let piece = match self.next()? {
                Event::Text(t) => t.xml11_content(),
                Event::CData(c) => c.xml11_content(),
                Event::GeneralRef(reference) => Cow::Owned(resolve_reference(&reference)?),
                event @ (Event::Start(_) | Event::Empty(_)) => {
                    self.peeked = Some(event);
                    return Ok(Content::Children);
                }
                Event::End(_) => return Ok(text.map_or(Content::Empty, Content::Text)),
                Event::Eof => return Err(ends_inside()),
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => continue,
            };
            if piece.is_empty() {
                continue;
            }
            match &mut text {
                None => text = Some(piece),
                Some(so_far) => so_far.to_mut().push_str(&piece),
            }
        }
    }

    /// Reads an element's content now if it has not been read yet.
    fn resolve(&mut self, content: &mut Content<'a>) -> Result<(), XmlError> {
        if matches!(content, Content::Unread) {
            *content = self.content()?;
        }
        Ok(())
    }

    /// Reads past whatever of an element's content is still unread: an
    /// ignored field or list item.
    fn ignore(&mut self, content: &Content<'a>) -> Result<(), XmlError> {
        match content {
            Content::Unread | Content::Children => self.skip_rest_of_element(),
            Content::Empty | Content::Text(_) => Ok(()),
        }
    }

    /// Reads past the end of an opened element, in a loop however deep it nests.
    fn skip_rest_of_element(&mut self) -> Result<(), XmlError> {
        let mut open = 0usize;
        loop {
            match self.next()? {
                Event::Start(_) => open += 1,
                Event::End(_) if open == 0 => return Ok(()),
                Event::End(_) => open -= 1,
                Event::GeneralRef(reference) => drop(resolve_reference(&reference)?),
                Event::Eof => return Err(ends_inside()),
                _ => {}
            }
        }
    }

    /// Reads the root element's start tag.
    fn root(&mut self) -> Result<(), XmlError> {
        loop {
            match self.next()? {
                Event::Start(_) => return Ok(()),
                Event::Empty(_) => return Err(no_children()),
                Event::Text(t) if t.xml11_content().trim().is_empty() => {}
                Event::CData(c) if c.xml11_content().trim().is_empty() => {}
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                    return Err(XmlError::Malformed("text outside the root element".into()));
                }
                Event::End(_) => return Err(XmlError::Malformed("closing tag without an opening tag".into())),
                Event::Eof => return Err(XmlError::Malformed("no root element".into())),
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
            }
        }
    }

    /// Reads what follows the root element: nothing but blanks, comments and instructions.
    fn end(&mut self) -> Result<(), XmlError> {
        loop {
            match self.next()? {
                Event::Eof => return Ok(()),
                Event::Start(_) | Event::Empty(_) => {
                    return Err(XmlError::Malformed("content after the root element".into()));
                }
                Event::Text(t) if t.xml11_content().trim().is_empty() => {}
                Event::CData(c) if c.xml11_content().trim().is_empty() => {}
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                    return Err(XmlError::Malformed("text outside the root element".into()));
                }
                Event::End(_) => return Err(XmlError::Malformed("closing tag without an opening tag".into())),
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
            }
        }
    }
}

/// An element's name without its namespace prefix, as [`BytesStart::local_name`] gives it
/// but found with a plain byte loop (that one walks the name as chars, and a vectorised
/// search costs more than it saves on names this short; every element is named this way
/// once or twice).
fn local_name<'s>(start: &'s BytesStart<'_>) -> &'s str {
    let name = start.name().into_inner();
    match name.bytes().position(|byte| byte == b':') {
        Some(colon) => name.get(colon + 1..).unwrap_or(name),
        None => name,
    }
}

fn ends_inside() -> XmlError {
    XmlError::Malformed("the document ends inside an element".into())
}

fn no_children() -> XmlError {
    XmlError::Malformed("the root element has no child elements".into())
}

/// The document: its root element, as a map of its children.
impl<'de> de::Deserializer<'de> for &mut Deserializer<'de> {
    type Error = XmlError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, XmlError> {
        self.root()?;
        match self.content()? {
            Content::Children => visitor.visit_map(Children { de: self, pending: None }),
            Content::Unread | Content::Empty | Content::Text(_) => Err(no_children()),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// The child elements of an opened element, as map entries named by their local names.
struct Children<'d, 'a> {
    de: &'d mut Deserializer<'a>,
    /// The start tag of the child whose name was the last key, and whether it was `<x/>`.
    pending: Option<(BytesStart<'a>, bool)>,
}

impl<'de> MapAccess<'de> for Children<'_, 'de> {
    type Error = XmlError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, XmlError> {
        loop {
            let (start, empty) = match self.de.next()? {
                Event::Start(start) => (start, false),
                Event::Empty(start) => (start, true),
                Event::End(_) => return Ok(None),
                Event::Eof => return Err(ends_inside()),
                Event::GeneralRef(reference) => {
                    resolve_reference(&reference)?;
                    continue;
                }
                // Element content wins over stray text between children.
                _ => continue,
            };
            let pending = self.pending.insert((start, empty));
            let name = local_name(&pending.0);
            return seed.deserialize(de::value::StrDeserializer::<XmlError>::new(name)).map(Some);
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, XmlError> {
        let (start, empty) =
            self.pending.take().ok_or_else(|| XmlError::Shape("a value was asked for before its key".into()))?;
        let content = if empty { Content::Empty } else { Content::Unread };
        seed.deserialize(Entry { de: self.de, name: start, content })
    }
}

/// The value of one key of a [`Children`] map: the element whose start was just read and,
/// when read as a list, the siblings of the same name right after it.
struct Entry<'d, 'a> {
    de: &'d mut Deserializer<'a>,
    name: BytesStart<'a>,
    content: Content<'a>,
}

impl<'de> Entry<'_, 'de> {
    fn resolve(&mut self) -> Result<(), XmlError> {
        self.de.resolve(&mut self.content)
    }
}

impl<'de> de::Deserializer<'de> for Entry<'_, 'de> {
    type Error = XmlError;

    fn deserialize_any<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, XmlError> {
        self.resolve()?;
        match self.content {
            Content::Children => visitor.visit_seq(Siblings { de: self.de, name: self.name, first: true }),
            content => visit_leaf(content, visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, XmlError> {
        self.resolve()?;
        match self.content {
            Content::Empty => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, XmlError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, XmlError> {
        self.resolve()?;
        match self.content {
            Content::Children => visitor.visit_map(Children { de: self.de, pending: None }),
            content => visit_leaf(content, visitor),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, XmlError> {
        self.de.ignore(&self.content)?;
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct enum identifier
    }
}

/// A leaf's content for the visitor: `null` or a string (borrowed from the body when the
/// text held no entity or line break to rewrite).
fn visit_leaf<'de, V: Visitor<'de>>(content: Content<'de>, visitor: V) -> Result<V::Value, XmlError> {
    match content {
        Content::Text(Cow::Borrowed(text)) => visitor.visit_borrowed_str(text),
        Content::Text(Cow::Owned(text)) => visitor.visit_string(text),
        Content::Unread | Content::Empty => visitor.visit_unit(),
        // Callers resolve the content and handle children before coming here.
        Content::Children => Err(XmlError::Shape("child elements where a value was expected".into())),
    }
}

/// An element with child elements and the siblings of the same name that follow it
/// directly (blanks and comments between them aside): a list in the JSON the XML stands for.
struct Siblings<'d, 'a> {
    de: &'d mut Deserializer<'a>,
    name: BytesStart<'a>,
    /// The first element is opened and its first child peeked.
    first: bool,
}

impl<'de> SeqAccess<'de> for Siblings<'_, 'de> {
    type Error = XmlError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, XmlError> {
        if std::mem::take(&mut self.first) {
            return seed.deserialize(Item { de: self.de, content: Content::Children }).map(Some);
        }
        loop {
            let event = self.de.next()?;
            let content = match &event {
                Event::Start(start) if local_name(start) == local_name(&self.name) => Content::Unread,
                Event::Empty(start) if local_name(start) == local_name(&self.name) => Content::Empty,
                Event::Text(_) | Event::CData(_) | Event::Comment(_) | Event::PI(_) => continue,
                _ => {
                    self.de.peeked = Some(event);
                    return Ok(None);
                }
            };
            return seed.deserialize(Item { de: self.de, content }).map(Some);
        }
    }
}

/// One element of a [`Siblings`] list: a map of its children, text, or `null`.
struct Item<'d, 'a> {
    de: &'d mut Deserializer<'a>,
    content: Content<'a>,
}

impl<'de> de::Deserializer<'de> for Item<'_, 'de> {
    type Error = XmlError;

    fn deserialize_any<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, XmlError> {
        self.de.resolve(&mut self.content)?;
        match self.content {
            Content::Children => visitor.visit_map(Children { de: self.de, pending: None }),
            content => visit_leaf(content, visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, XmlError> {
        self.de.resolve(&mut self.content)?;
        match self.content {
            Content::Empty => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, XmlError> {
        self.de.ignore(&self.content)?;
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
    }
}

struct Element {
    name: String,
    children: Vec<(String, Value)>,
    text: String,
}

impl Element {
    fn new(name: String) -> Self {
        Self { name, children: Vec::new(), text: String::new() }
    }

    fn into_value(self) -> Value {
        if !self.children.is_empty() {
            // Element content wins over stray whitespace between children.
            let mut object = Map::new();
            for (name, value) in self.children {
                match object.get_mut(&name) {
                    None => {
                        object.insert(name, value);
                    }
                    Some(Value::Array(items)) => items.push(value),
                    Some(first) => {
                        let first = first.take();
                        object.insert(name, Value::Array(vec![first, value]));
                    }
                }
            }
            Value::Object(object)
        } else if self.text.is_empty() {
            Value::Null
        } else {
            Value::String(self.text)
        }
    }
}

/// Reads an XML document into the JSON value it stands for, rooted at the document
/// element's content: for the debug log's description of an unexpected answer only.
pub fn to_json(body: &str) -> Result<Value, XmlError> {
    let mut reader = Reader::from_str(body);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Value> = None;
    let mut elements = 0usize;
    let mut count_element = || {
        elements += 1;
        if elements > MAX_XML_ELEMENTS { Err(XmlError::TooComplex(TooComplex::Elements)) } else { Ok(()) }
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|e| XmlError::Malformed(format!("at byte {}: {e}", reader.buffer_position())))?;
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(XmlError::Malformed("content after the root element".into()));
                }
                if stack.len() >= MAX_NESTING_DEPTH {
                    return Err(XmlError::TooComplex(TooComplex::Nesting));
                }
                count_element()?;
                stack.push(Element::new(start.local_name().as_ref().to_owned()));
            }
            Event::Empty(empty) => {
                count_element()?;
                let name = empty.local_name().as_ref().to_owned();
                match stack.last_mut() {
                    Some(parent) => parent.children.push((name, Value::Null)),
                    None if root.is_none() => root = Some(Value::Null),
                    None => return Err(XmlError::Malformed("content after the root element".into())),
                }
            }
            Event::End(_) => {
                let element =
                    stack.pop().ok_or_else(|| XmlError::Malformed("closing tag without an opening tag".into()))?;
                let name = element.name.clone();
                let value = element.into_value();
                match stack.last_mut() {
                    Some(parent) => parent.children.push((name, value)),
                    None => root = Some(value),
                }
            }
            Event::Text(text) => {
                // XML 1.1 end-of-line rules, as quick-xml 0.38's `xml_content()` applied
                // before 0.42 made the version explicit: the decoded values stay the same.
                append_text(&mut stack, &text.xml11_content())?;
            }
            Event::CData(cdata) => {
                append_text(&mut stack, &cdata.xml11_content())?;
            }
            Event::GeneralRef(reference) => {
                let resolved = resolve_reference(&reference)?;
                append_text(&mut stack, &resolved)?;
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Malformed("the document ends inside an element".into()));
    }
    match root {
        Some(value @ Value::Object(_)) => Ok(value),
        Some(_) => Err(XmlError::Malformed("the root element has no child elements".into())),
        None => Err(XmlError::Malformed("no root element".into())),
    }
}

fn append_text(stack: &mut [Element], text: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(element) => {
            element.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(XmlError::Malformed("text outside the root element".into())),
    }
}

fn resolve_reference(reference: &BytesRef<'_>) -> Result<String, XmlError> {
    if let Some(ch) = reference.resolve_char_ref().map_err(|e| XmlError::Malformed(e.to_string()))? {
        return Ok(ch.to_string());
    }
    let name: &str = reference;
    resolve_predefined_entity(name)
        .map(str::to_owned)
        .ok_or_else(|| XmlError::Malformed(format!("unknown entity &{name};")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::twocheckout::wire::Scalar;

    #[test]
    fn repeated_elements_become_arrays_and_empty_ones_null() {
        let xml = r#"<?xml version="1.0"?>
            <response>
              <response_code>OK</response_code>
              <sale_summary><sale_id>1</sale_id><decline_code/></sale_summary>
              <sale_summary><sale_id>2</sale_id><decline_code></decline_code></sale_summary>
            </response>"#;
        assert_eq!(
            to_json(xml).unwrap(),
            json!({"response_code": "OK", "sale_summary": [
                {"sale_id": "1", "decline_code": null},
                {"sale_id": "2", "decline_code": null}
            ]})
        );
    }

    #[test]
    fn a_lone_element_is_an_object_and_text_is_unescaped() {
        let xml = "<r><errors><code>X</code><message>a &lt; b &amp; &#99;</message></errors></r>";
        assert_eq!(to_json(xml).unwrap(), json!({"errors": {"code": "X", "message": "a < b & c"}}));
    }

    #[test]
    fn broken_documents_are_errors_not_panics() {
        for bad in
            ["", "<r>", "<r></x>", "<html><body>oops", "not xml at all", "<r>text</r>", "<r/><r/>", "<r>&bogus;</r>"]
        {
            assert!(to_json(bad).is_err(), "{bad:?} accepted");
        }
    }

    fn nested(levels: usize) -> String {
        format!("{}{}", "<a>".repeat(levels), "</a>".repeat(levels))
    }

    #[test]
    fn nesting_up_to_the_limit_is_read_and_one_level_more_is_refused_before_building_it() {
        assert!(to_json(&nested(MAX_NESTING_DEPTH)).is_ok());
        assert!(matches!(to_json(&nested(MAX_NESTING_DEPTH + 1)), Err(XmlError::TooComplex(TooComplex::Nesting))));
    }

    #[test]
    fn sixteen_thousand_levels_are_refused_without_overflowing_the_stack() {
        // Closed or left open: neither builds (nor drops) a value deeper than the limit.
        assert!(matches!(to_json(&nested(16_000)), Err(XmlError::TooComplex(TooComplex::Nesting))));
        assert!(matches!(to_json(&"<a>".repeat(16_000)), Err(XmlError::TooComplex(TooComplex::Nesting))));
    }

    #[test]
    fn elements_up_to_the_limit_are_read_and_one_more_is_refused() {
        let document = |elements: usize| format!("<r><x>{}</x></r>", "<i/>".repeat(elements - 2));
        assert!(to_json(&document(MAX_XML_ELEMENTS)).is_ok());
        assert!(matches!(to_json(&document(MAX_XML_ELEMENTS + 1)), Err(XmlError::TooComplex(TooComplex::Elements))));
    }

    /// A wire-like type with a list, an optional object and scalars, as the wire types are.
    #[derive(Debug, Default, serde::Deserialize, PartialEq)]
    #[serde(default, bound(deserialize = "'de: 'a"))]
    struct Page<'a> {
        code: Scalar<'a>,
        rows: crate::twocheckout::wire::Many<Row<'a>>,
        info: Option<Info>,
    }

    #[derive(Debug, Default, serde::Deserialize, PartialEq)]
    #[serde(default, bound(deserialize = "'de: 'a"))]
    struct Row<'a> {
        id: Scalar<'a>,
        note: Option<String>,
    }

    #[derive(Debug, Default, serde::Deserialize, PartialEq)]
    #[serde(default)]
    struct Info {
        last: Option<String>,
    }

    #[test]
    fn repeated_elements_decode_as_a_list_and_a_lone_one_as_a_list_of_one() {
        let two =
            "<r><code>OK</code><rows><id>1</id></rows>\n <rows><id>2</id><note/></rows><info><last>9</last></info></r>";
        let page: Page<'_> = from_str(two).unwrap();
        assert_eq!(page.code.get(), Some("OK"));
        assert_eq!(page.rows.0.iter().map(|r| r.id.get()).collect::<Vec<_>>(), [Some("1"), Some("2")]);
        assert_eq!(page.info, Some(Info { last: Some("9".into()) }));
        let one: Page<'_> = from_str("<r><rows><id>1</id></rows><info/></r>").unwrap();
        assert_eq!(one.rows.0.len(), 1);
        assert_eq!(one.info, None, "an empty element is null");
        let none: Page<'_> = from_str("<r><rows/><code></code></r>").unwrap();
        assert!(none.rows.0.is_empty() && none.code.get().is_none());
    }

    #[test]
    fn text_is_borrowed_from_the_body_unless_it_holds_entities() {
        let page: Page<'_> = from_str("<r><rows><id>12</id><note>a &lt; b &amp; &#99;</note></rows></r>").unwrap();
        let row = &page.rows.0[0];
        assert!(matches!(row.id.0, Some(Cow::Borrowed("12"))));
        assert_eq!(row.note.as_deref(), Some("a < b & c"));
    }

    #[test]
    fn unknown_elements_are_skipped_however_they_nest() {
        let xml = format!("<r><x>{}</x><code>OK</code><x/><x>t</x></r>", "<y><z>1</z></y>".repeat(50));
        let page: Page<'_> = from_str(&xml).unwrap();
        assert_eq!(page.code.get(), Some("OK"));
    }

    #[test]
    fn a_value_of_the_wrong_shape_is_named_by_its_path() {
        let error = from_str_with_path::<Page<'_>>("<r><rows><id><deep>1</deep></id></rows></r>").unwrap_err();
        assert_eq!(error, "rows[0].id");
        let error = from_str_with_path::<Page<'_>>("<r><info>text</info></r>").unwrap_err();
        assert_eq!(error, "info");
    }

    #[test]
    fn the_checking_read_refuses_what_the_tree_reader_refuses() {
        for bad in [
            "",
            "<r>",
            "<r></x>",
            "<html><body>oops",
            "not xml at all",
            "<r>text</r>",
            "<r/><r/>",
            "<r>&bogus;</r>",
            "<r><a>&bogus;</a></r>",
            "<r><a/></r><b/>",
            "<r><a/></r>tail",
        ] {
            assert!(check(bad).is_err(), "{bad:?} accepted");
            assert!(to_json(bad).is_err(), "{bad:?} accepted by the tree reader");
        }
        assert!(check("<?xml version=\"1.0\"?>\n<r><a>1</a><!-- c --></r>\n").is_ok());
    }

    #[test]
    fn the_limits_hold_while_decoding_and_skipping() {
        let deep = |levels: usize| format!("<r>{}{}</r>", "<a>".repeat(levels - 1), "</a>".repeat(levels - 1));
        assert!(check(&deep(MAX_NESTING_DEPTH)).is_ok());
        assert!(matches!(check(&deep(MAX_NESTING_DEPTH + 1)), Err(XmlError::TooComplex(TooComplex::Nesting))));
        assert!(matches!(check(&"<a>".repeat(16_000)), Err(XmlError::TooComplex(TooComplex::Nesting))));
        let wide = |elements: usize| format!("<r><x>{}</x></r>", "<i/>".repeat(elements - 2));
        assert!(check(&wide(MAX_XML_ELEMENTS)).is_ok());
        assert!(matches!(check(&wide(MAX_XML_ELEMENTS + 1)), Err(XmlError::TooComplex(TooComplex::Elements))));
        let rows = format!("<r>{}</r>", "<rows><id>1</id></rows>".repeat(MAX_XML_ELEMENTS));
        assert!(matches!(from_str::<Page<'_>>(&rows), Err(XmlError::TooComplex(TooComplex::Elements))));
    }
}
