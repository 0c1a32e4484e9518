//! DynamoDB item sizes by the documented rules ("DynamoDB item sizes and formats",
//! docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
//! each attribute is its name's UTF-8 bytes plus its value: a string its UTF-8 bytes, a number
//! 1 byte per two significant digits plus 1, binary its raw bytes, null or bool 1 byte, a list
//! or map 3 bytes plus its elements plus 1 byte per element.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

pub type Item = HashMap<String, AttributeValue>;

/// The item's size in bytes.
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
        AttributeValue::Ns(set) => set.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(set) => set.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// 1 byte per two significant digits (leading and trailing zeros trimmed), plus 1.
fn number_size(n: &str) -> usize {
    let digits: String = n.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    significant.div_ceil(2) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }

    #[test]
    fn sizes_follow_the_documented_rules() {
        // "pk" (2) + "ACCOUNT#x" (9) = 11; "balance" (7) + 10000 -> "1": 1 + 1 = 9;
        // "amount" (6) + -1250 -> "125": 2 + 1 = 9; "ok" (2) + 1 = 3.
        let item: Item = [
            ("pk".to_owned(), s("ACCOUNT#x")),
            ("balance".to_owned(), AttributeValue::N("10000".to_owned())),
            ("amount".to_owned(), AttributeValue::N("-1250".to_owned())),
            ("ok".to_owned(), AttributeValue::Bool(true)),
        ]
        .into();
        assert_eq!(item_size(&item), 11 + 9 + 9 + 3);
        // "m" (1) + 3 + (1 + "a" (1) + "é" (2)) = 8
        let nested: Item = [(
            "m".to_owned(),
            AttributeValue::M([("a".to_owned(), s("é"))].into()),
        )]
        .into();
        assert_eq!(item_size(&nested), 8);
        assert_eq!(number_size("0"), 1);
        assert_eq!(number_size("123456789012"), 7);
    }
}
