//! Vendor factor names in vigil's factor vocabulary.

use crate::decode::meaningful;
use vigil_schemas::CompactString;

/// Factor names longer than this are not labels but garbage, and are dropped.
const MAX_FACTOR_BYTES: usize = 64;

/// Names that say no factor was presented: Entra's `Previously satisfied` (MFA met by a
/// claim in the token), Auth0's and Google's `none` and `other`.
const NO_FACTOR: [&str; 3] = ["none", "other", "previously satisfied"];

/// A vendor's factor, method, credential type or connection strategy in vigil's
/// vocabulary: `password`, `push`, `otp`, `sms`, `voice`, `email`, `webauthn`,
/// `certificate` (and `security_question`, `recovery_code`); any other name lowercased as
/// it is (`signed_nonce` for Okta FastPass, `backup_code`, `saml`, `google-oauth2`).
/// Placeholders and [`NO_FACTOR`] names give `None`.
///
/// Names are looked up exactly first (every vendor's codes: `OKTA_VERIFY_PUSH`,
/// `google_prompt`, `webauthn-roaming`, `SOFTWARE_TOKEN`), then by the words of Entra's
/// descriptive method names (`Mobile app notification`, `OATH verification code`,
/// `FIDO2 security key`).
pub(crate) fn normalize_factor(vendor: &str) -> Option<CompactString> {
    let vendor = meaningful(Some(vendor))?;
    if vendor.len() > MAX_FACTOR_BYTES {
        return None;
    }
    let lower = CompactString::from_str_to_lowercase(vendor);
    if NO_FACTOR.contains(&lower.as_str()) {
        return None;
    }
    let canonical = exact(&lower).or_else(|| described(&lower));
    Some(canonical.map_or(lower, CompactString::from))
}

/// The factor of a lowercase vendor code, when it is one vigil knows.
fn exact(lower: &str) -> Option<&'static str> {
    let canonical = match lower {
        // `auth0` and `ad` / `auth0-adldap` are Auth0's database and directory strategies.
        "password" | "password_as_factor" | "okta_password" | "google_password" | "auth0"
        | "ad" | "auth0-adldap" => "password",
        "push" | "okta_verify_push" | "push notification" | "push_notification"
        | "push-notification" | "guardian" | "google_prompt" => "push",
        "otp"
        | "totp"
        | "hotp"
        | "google_otp"
        | "okta_soft_token"
        | "token"
        | "token:software:totp"
        | "token:hotp"
        | "token:hardware"
        | "hardware token"
        | "hardware_token"
        | "software_token"
        | "rsa_securid"
        | "symantec_vip"
        | "yubikey_token"
        | "custom_hotp"
        | "google_authenticator"
        | "offline_otp"
        | "security_key_otp" => "otp",
        "sms" | "sms_factor" | "text_message" => "sms",
        "voice" | "call" | "call_factor" | "phone call" | "phone_call" | "voice_call" => "voice",
        "email" | "email_factor" | "email_otp" => "email",
        "webauthn" | "fido_webauthn" | "u2f" | "fido_u2f" | "fido" | "webauthn-roaming"
        | "webauthn-platform" | "passkey" | "passkeys" | "security_key" => "webauthn",
        "certificate" | "x509" | "smart_card" | "smartcard" | "piv" | "mtls" => "certificate",
        "security question" | "security_question" | "question" => "security_question",
        "recovery-code" | "recovery_code" => "recovery_code",
        _ => return None,
    };
    Some(canonical)
}

/// The factor a descriptive lowercase name speaks of (Entra's `authenticationMethod`:
/// `Mobile app notification`, `Text message`, `PhoneAppOTP`, `X.509 Certificate`).
fn described(lower: &str) -> Option<&'static str> {
    let has = |needle: &str| lower.contains(needle);
    let canonical = if has("password") && !has("passwordless") {
        "password"
    } else if has("passkey")
        || has("fido")
        || has("security key")
        || has("windows hello")
        || has("platform credential")
    {
        "webauthn"
    } else if has("notification") || has("passwordless") {
        "push"
    } else if has("text message") || has("sms") {
        "sms"
    } else if has("voice") || has("phone call") {
        "voice"
    } else if has("email") {
        "email"
    } else if has("oath") || has("otp") || has("verification code") {
        "otp"
    } else if has("certificate") || has("x.509") || has("smart card") {
        "certificate"
    } else {
        return None;
    };
    Some(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendors_names_map_to_the_vocabulary() {
        let cases = [
            // Okta
            ("PASSWORD", "password"),
            ("OKTA_VERIFY_PUSH", "push"),
            ("GOOGLE_OTP", "otp"),
            ("OKTA_SOFT_TOKEN", "otp"),
            ("token:software:totp", "otp"),
            ("SMS_FACTOR", "sms"),
            ("CALL_FACTOR", "voice"),
            ("EMAIL_FACTOR", "email"),
            ("FIDO_WEBAUTHN", "webauthn"),
            ("FIDO_U2F", "webauthn"),
            ("CERTIFICATE", "certificate"),
            ("SIGNED_NONCE", "signed_nonce"),
            ("Push Notification", "push"),
            ("security question", "security_question"),
            // Entra
            ("Password", "password"),
            ("Mobile app notification", "push"),
            ("PhoneAppNotification", "push"),
            ("Passwordless phone sign-in", "push"),
            ("Text message", "sms"),
            ("OneWaySMS", "sms"),
            ("TwoWayVoiceMobile", "voice"),
            ("Phone call", "voice"),
            ("OATH verification code", "otp"),
            ("PhoneAppOTP", "otp"),
            ("Email verification code", "email"),
            ("FIDO2 security key", "webauthn"),
            ("Passkey (Microsoft Authenticator)", "webauthn"),
            ("Windows Hello for Business", "webauthn"),
            ("X.509 Certificate", "certificate"),
            ("Temporary Access Pass", "temporary access pass"),
            // Auth0
            ("auth0", "password"),
            ("ad", "password"),
            ("guardian", "push"),
            ("push-notification", "push"),
            ("webauthn-roaming", "webauthn"),
            ("recovery-code", "recovery_code"),
            ("mtls", "certificate"),
            ("google-oauth2", "google-oauth2"),
            // Google Workspace
            ("google_password", "password"),
            ("google_prompt", "push"),
            ("google_authenticator", "otp"),
            ("security_key_otp", "otp"),
            ("security_key", "webauthn"),
            ("text_message", "sms"),
            ("voice_call", "voice"),
            ("backup_code", "backup_code"),
            ("saml", "saml"),
            ("exchange", "exchange"),
            // CloudTrail (IAM Identity Center `CredentialType`)
            ("SOFTWARE_TOKEN", "otp"),
            ("HARDWARE_TOKEN", "otp"),
            ("FIDO", "webauthn"),
            ("PASSKEY", "webauthn"),
            ("SMARTCARD", "certificate"),
            ("EMAIL_OTP", "email"),
            ("SMS", "sms"),
            ("YubiKey Bio", "yubikey bio"),
        ];
        for (vendor, expected) in cases {
            assert_eq!(
                normalize_factor(vendor).as_deref(),
                Some(expected),
                "{vendor}"
            );
        }
    }

    #[test]
    fn placeholders_non_factors_and_garbage_give_none() {
        for vendor in [
            "",
            "  ",
            "null",
            "-",
            "unknown",
            "none",
            "Other",
            "Previously satisfied",
        ] {
            assert_eq!(normalize_factor(vendor), None, "{vendor:?}");
        }
        assert_eq!(normalize_factor(&"F".repeat(MAX_FACTOR_BYTES + 1)), None);
        assert_eq!(
            normalize_factor(&"F".repeat(MAX_FACTOR_BYTES)).map(|name| name.len()),
            Some(MAX_FACTOR_BYTES)
        );
    }
}
