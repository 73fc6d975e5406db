//! Countries as ISO 3166-1 alpha-2 codes: the officially assigned ones, so that `XX` or `UK`
//! (the United Kingdom is `GB`) are refused when an address is saved rather than when a parcel
//! is sent.

use microshop_domain::ValidationError;

/// Every officially assigned ISO 3166-1 alpha-2 code, sorted.
pub const COUNTRY_CODES: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// An assigned ISO 3166-1 alpha-2 code, e.g. `DE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country(&'static str);

impl Country {
    /// Accepts an assigned code of two capital letters (surrounding spaces aside).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let code = raw.trim();
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ValidationError::new(
                "country",
                "must be an ISO 3166-1 alpha-2 code of two capital letters, like DE or US",
            ));
        }
        COUNTRY_CODES
            .binary_search(&code)
            .map(|i| Self(COUNTRY_CODES[i]))
            .map_err(|_| {
                ValidationError::new(
                    "country",
                    format!("{code} is not an ISO 3166-1 alpha-2 country code"),
                )
            })
    }

    /// The code.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_are_sorted_and_unique_so_binary_search_finds_each() {
        assert!(COUNTRY_CODES.windows(2).all(|pair| pair[0] < pair[1]));
        for code in COUNTRY_CODES {
            assert_eq!(Country::parse(code).unwrap().as_str(), code);
        }
    }

    #[test]
    fn only_assigned_codes_in_capitals_are_countries() {
        assert_eq!(Country::parse(" GB ").unwrap().as_str(), "GB");
        for bad in ["", "D", "de", "De", "DEU", "UK", "XX", "ÄÖ", "1A"] {
            assert!(Country::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
