//! What the vendor decoders share, each in one place: lenient JSON readers, and the
//! normalisers from vendor values to the normalized [`vigil_schemas::Event`]'s vocabulary.
//!
//! Two families of readers, for two kinds of decoder:
//! - [`loose`]: typed readers for decoders that know their record's shape and read it in
//!   one pass into borrowed structs (Okta, OCSF, format detection);
//! - [`value`]: readers over a parsed [`serde_json::Value`] for decoders whose records vary
//!   in shape between exports and nest inside wrappers (Entra, CloudTrail, Auth0, Google
//!   Workspace).
//!
//! Both read a value of an unexpected JSON type as absent, numbers from numeric strings
//! by the same rules ([`finite`], [`whole`]), and text without vendors' placeholders
//! ([`crate::decode::meaningful`]).
//!
//! The normalisers, one implementation each: [`normalize_factor`] (the factor vocabulary),
//! [`geo`] (vendor locations: coordinates without "null island", cities, alpha-2
//! countries), [`asn`], [`bounded_id`] (identifier bounds, [`crate::native::MAX_ID_BYTES`]),
//! [`address`] (client addresses that must be addresses), [`timestamp`] and [`event_time`]
//! (time fields and Panther's `p_event_time`), [`says_unanswered`] (failure wording),
//! [`not_an_object`] and [`batch`] (vendor batches decoded member by member).

mod factor;
mod loose;
mod normalize;
mod value;

pub(crate) use factor::normalize_factor;
pub(crate) use loose::{LooseFirst, LooseList, LooseNumber, LooseObject, LooseText};
pub(crate) use normalize::{
    address, asn, bounded_id, event_time, finite, geo, number_in, says_unanswered, timestamp, whole,
};
pub(crate) use value::{
    batch, field, integer, not_an_object, number, object, parse_object, path, required_string,
    string, text,
};
