//! Turns an Admin API XML body into the same JSON value the JSON format gives,
//! so one set of serde wire types decodes both formats.
//!
//! The XML shape (inferred from clients that ran against the live API in both
//! formats): one root element whose name is not relied upon; its children are
//! the JSON top-level keys; an array is the element repeated under the key's
//! name with no wrapper; JSON `null` is an empty element; no attributes. A
//! one-element list and a single object look alike here, so this produces an
//! object for a lone element and an array for a repeated one, and the wire
//! types (which know which fields are lists) accept either. An empty element
//! becomes `null`, which the wire types read as "absent" or "empty list".
//!
//! Elements nest at most [`MAX_NESTING_DEPTH`] levels: the reader refuses a
//! deeper one before building anything, because the value it would build is
//! then decoded and dropped recursively, one stack frame per level (16,000
//! levels, about 112 KB of XML, overflowed the stack and aborted the process).
//! A document holds at most [`MAX_XML_ELEMENTS`] elements, which bounds the
//! tree built here (about a hundred bytes per element) and what is decoded from it.

use quick_xml::{
    Reader,
    escape::resolve_predefined_entity,
    events::{BytesRef, Event},
};
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

/// Reads an XML document into a JSON value rooted at the document element's content.
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
}
