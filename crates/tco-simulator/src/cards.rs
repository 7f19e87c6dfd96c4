//! The simulated card network behind the Payment API: which card numbers approve, which decline
//! and with what code, the Payment API's error codes with their verbatim messages, and the card
//! brand shown after tokenization.
//!
//! The reference names two sandbox cards (one approving, one declined with 602). Every other
//! documented error code gets a simulator-only card of the form `40000000000006xx` / `...0n00`
//! so a client's handling of each code can be tested end to end; any other well-formed number
//! approves, like a real processor that knows nothing against it.

/// The sandbox card the reference says authorizes.
pub const APPROVING_CARD: &str = "4000000000000002";
/// The sandbox card the reference says is declined; the simulator answers 602 for it.
pub const DECLINING_CARD: &str = "4333433343334333";

/// Simulator-only cards and the error code the network answers for each.
const ERROR_CARDS: [(u16, &str); 11] = [
    (200, "4000000000000200"),
    (300, "4000000000000300"),
    (400, "4000000000000400"),
    (600, "4000000000000600"),
    (601, "4000000000000601"),
    (602, "4000000000000602"),
    (603, "4000000000000603"),
    (604, "4000000000000604"),
    (605, "4000000000000605"),
    (606, "4000000000000606"),
    (607, "4000000000000607"),
];

/// The card whose authorization answers `code` (600 to 607, 200, 300 or 400).
pub fn card_for_error_code(code: u16) -> Option<&'static str> {
    ERROR_CARDS.iter().find(|(known, _)| *known == code).map(|(_, card)| *card)
}

/// The network's answer for a card number: `Ok` approves, `Err(code)` declines with that code.
pub fn network_answer(card_number: &str) -> Result<(), u16> {
    if card_number == DECLINING_CARD {
        return Err(602);
    }
    match ERROR_CARDS.iter().find(|(_, card)| *card == card_number) {
        Some((code, _)) => Err(*code),
        None => Ok(()),
    }
}

/// The message the Payment API sends with `code`, verbatim from the reference. 601, 602 and 603
/// carry two spaces after their first sentence: the reference's example exception prints 602
/// that way (its tables show the same gap as a no-break space and a space, an HTML artefact).
pub fn error_message(code: u16) -> &'static str {
    match code {
        200 => "Unable to process the request",
        300 => "Unauthorized",
        400 => "Bad request - parameter error",
        // Token service only.
        401 => "Bad request - missing data",
        500 => "Request failed.",
        600 => "Authorization Failed",
        601 => {
            "Payment Authorization Failed:  Please update your cards expiration date and try again, or try another \
             payment method."
        }
        602 => {
            "Payment Authorization Failed:  Please verify your Credit Card details are entered correctly and try \
             again, or try another payment method."
        }
        603 => {
            "Your credit card has been declined because of the currency you are attempting to pay in.  Please change \
             the currency of the transaction or use a different card and try again."
        }
        604 => {
            "Payment Authorization Failed: Credit is not enabled on this type of card, please contact your bank for \
             more information or try another payment method."
        }
        605 => {
            "Payment Authorization Failed: Invalid transaction type for this credit card, please use a different card \
             and try submitting the payment again, or contact your bank for more information."
        }
        606 => {
            "Payment Authorization Failed: Please use a different credit card or payment method and try again, or \
             contact your bank for more information."
        }
        607 => {
            "Payment Authorization Failed: Please verify your information and try again, or try another payment method."
        }
        // Not a code the simulator answers; kept total so a typo cannot panic.
        _ => "Unable to process the request",
    }
}

/// The HTTP status sent with `code`: 401 for 300 (Unauthorized), 400 for everything else, as
/// the reference's example exception (`"httpStatus": "400"` for a 602) and real clients show.
pub fn http_status(code: u16) -> u16 {
    if code == 300 { 401 } else { 400 }
}

/// The brand code 2co.js reports in `paymentMethod.cardType` (the reference shows `VS`); the
/// others follow the usual prefixes. `OT` (other) is the simulator's own for unknown prefixes.
pub fn card_type(card_number: &str) -> &'static str {
    let prefix = |length: usize| card_number.get(..length).and_then(|digits| digits.parse::<u32>().ok());
    match (prefix(1), prefix(2), prefix(4)) {
        (Some(4), _, _) => "VS",
        (_, Some(34 | 37), _) => "AX",
        (_, Some(51..=55), _) | (_, _, Some(2221..=2720)) => "MC",
        (_, Some(65), _) | (_, _, Some(6011 | 6440..=6499)) => "DS",
        (_, _, Some(3528..=3589)) => "JC",
        (_, Some(36 | 38), _) | (_, _, Some(3000..=3059)) => "DC",
        _ => "OT",
    }
}

/// The Admin API's `pay_method.method` and billing `bill_method` for a card, as the seeded
/// sales write them (amex cards are `amex`, every other card `credit card`).
pub fn admin_pay_method(card_number: &str) -> (&'static str, &'static str) {
    if card_type(card_number) == "AX" { ("amex", "amex") } else { ("credit card", "credit_card") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_card_answers_its_code_and_other_cards_approve() {
        for code in [200, 300, 400, 600, 601, 602, 603, 604, 605, 606, 607] {
            let card = card_for_error_code(code).expect("a card for every documented code");
            assert_eq!(network_answer(card), Err(code));
        }
        assert_eq!(card_for_error_code(500), None);
        assert_eq!(network_answer(DECLINING_CARD), Err(602));
        assert_eq!(network_answer(APPROVING_CARD), Ok(()));
        assert_eq!(network_answer("5555555555554444"), Ok(()));
    }

    #[test]
    fn card_types_follow_the_prefixes() {
        assert_eq!(card_type(APPROVING_CARD), "VS");
        assert_eq!(card_type("5555555555554444"), "MC");
        assert_eq!(card_type("2221000000000009"), "MC");
        assert_eq!(card_type("378282246310005"), "AX");
        assert_eq!(card_type("6011111111111117"), "DS");
        assert_eq!(card_type("3530111333300000"), "JC");
        assert_eq!(card_type("30569309025904"), "DC");
        assert_eq!(card_type("9999999999999"), "OT");
        assert_eq!(admin_pay_method("378282246310005"), ("amex", "amex"));
        assert_eq!(admin_pay_method(APPROVING_CARD), ("credit card", "credit_card"));
    }
}
