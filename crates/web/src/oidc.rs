//! OpenID Connect single sign-on: the relying-party side of the
//! authorization code flow with PKCE, `state` and `nonce`.
//!
//! - The provider is found by issuer discovery
//!   (`/.well-known/openid-configuration`) and its signing keys (JWKS) are
//!   fetched with it; both are cached for [`METADATA_TTL`] and fetched again
//!   once when an ID token does not verify (key rotation).
//! - ID tokens are verified by `openidconnect` against our own algorithm
//!   allow-list ([`ALLOWED_ALGORITHMS`]: RS256, ES256, EdDSA; never `none`,
//!   never an HMAC algorithm, so a public key can never be used as an HMAC
//!   secret), the issuer, the audience (our client id only), the expiry and
//!   the issue time with a configurable clock skew, and the nonce.
//! - HTTP goes through reqwest on rustls with the aws-lc-rs provider (the one
//!   provider of the whole program), with redirects off and a timeout.
//! - Roles come from one claim (`groups` by default) through an ordered
//!   group-to-role map; no match means no sign-in unless a default role is set.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet,
    CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, LogoutRequest, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, RedirectUrl, Scope, TokenResponse,
};

/// Discovery metadata, with the RP-initiated logout endpoint when the provider has one.
type ProviderMetadata = ProviderMetadataWithLogout;
use palisade_store::{Role, SsoFlow};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

/// The only ID-token signature algorithms accepted.
pub const ALLOWED_ALGORITHMS: [CoreJwsSigningAlgorithm; 3] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// How long discovered metadata and keys are used before being fetched again.
pub const METADATA_TTL: StdDuration = StdDuration::from_secs(600);

/// An ID token issued longer ago than this (plus the skew) is refused, even if unexpired.
const MAX_TOKEN_AGE: Duration = Duration::minutes(10);

/// The path the provider sends browsers back to.
pub const CALLBACK_PATH: &str = "/sso/callback";

/// Where the provider sends browsers after signing them out there.
pub const POST_LOGOUT_PATH: &str = "/login";

/// The raw ID token of a sign-in, kept (sealed) as the `id_token_hint` of a
/// later sign-out at the provider; never printed.
#[derive(Clone, PartialEq)]
pub struct IdTokenHint(pub String);

impl std::fmt::Debug for IdTokenHint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdTokenHint(..)")
    }
}

/// Why a single sign-on did not happen. The text is for the audit log and
/// the server log; it never holds a token, code or secret.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error("single sign-on configuration: {0}")]
    Config(String),
    #[error("cannot reach the identity provider: {0}")]
    Discovery(String),
    #[error("the identity provider refused the sign-in: {0}")]
    Provider(String),
    #[error("no sign-in in progress in this browser (missing, expired or already used)")]
    NoFlow,
    #[error("state mismatch")]
    StateMismatch,
    #[error("code exchange failed: {0}")]
    Exchange(String),
    #[error("the token response holds no ID token")]
    NoIdToken,
    #[error("ID token refused: {0}")]
    IdToken(String),
    #[error("no role: none of the user's `{claim}` values is mapped to a role")]
    NoRole { claim: String },
}

/// What `palisade serve` was told about the identity provider.
#[derive(Clone)]
pub struct SsoConfig {
    pub issuer: String,
    pub client_id: String,
    /// `None` for a public client (PKCE only).
    pub client_secret: Option<String>,
    /// The claim that holds the user's groups (a string or an array of strings).
    pub role_claim: String,
    /// Group to role, in order: the first group the user has wins.
    pub role_map: Vec<(String, Role)>,
    /// The role when no group matches; `None` refuses the sign-in.
    pub default_role: Option<Role>,
    /// Tolerated difference between our clock and the provider's.
    pub clock_skew: Duration,
    /// Whether an ID token that asserts multi-factor authentication
    /// ([`Identity::asserts_mfa`]) stands in for the console's own second step.
    pub trust_idp_mfa: bool,
    /// `acr` values that mean the provider did multi-factor authentication
    /// (for providers that say so in `acr` rather than `amr`).
    pub mfa_acr_values: Vec<String>,
}

impl std::fmt::Debug for SsoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("has_client_secret", &self.client_secret.is_some())
            .field("role_claim", &self.role_claim)
            .field("role_map", &self.role_map)
            .field("default_role", &self.default_role)
            .field("clock_skew", &self.clock_skew)
            .field("trust_idp_mfa", &self.trust_idp_mfa)
            .field("mfa_acr_values", &self.mfa_acr_values)
            .finish()
    }
}

/// Parses `sec-team=admin,eng=analyst,audit=auditor`.
pub fn parse_role_map(text: &str) -> Result<Vec<(String, Role)>, SsoError> {
    let mut map = Vec::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (group, role) = pair.rsplit_once('=').ok_or_else(|| {
            SsoError::Config(format!(
                "role map entry `{pair}`: expected GROUP=ROLE (for example sec-team=admin)"
            ))
        })?;
        let role: Role = role
            .parse()
            .map_err(|e| SsoError::Config(format!("role map entry `{pair}`: {e}")))?;
        if group.trim().is_empty() {
            return Err(SsoError::Config(format!(
                "role map entry `{pair}`: empty group"
            )));
        }
        map.push((group.trim().to_string(), role));
    }
    Ok(map)
}

/// Who the provider says signed in, from a verified ID token.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub preferred_username: Option<String>,
    pub email: Option<String>,
    /// Every claim of the token (for the role claim).
    pub claims: serde_json::Value,
}

impl Identity {
    /// The values of `claim`: one string or an array of strings.
    pub fn claim_values(&self, claim: &str) -> Vec<String> {
        match self.claims.get(claim) {
            Some(serde_json::Value::String(value)) => vec![value.clone()],
            Some(serde_json::Value::Array(values)) => values
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A username for a new account: the preferred username, else the
    /// e-mail address, else a name made from the subject; characters the
    /// console does not allow become `-`.
    pub fn username_hint(&self) -> String {
        let raw = self
            .preferred_username
            .clone()
            .or_else(|| self.email.clone())
            .unwrap_or_default();
        let cleaned: String = raw
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@') {
                    c
                } else {
                    '-'
                }
            })
            .take(56)
            .collect();
        if cleaned.trim_matches('-').is_empty() {
            self.subject_name()
        } else {
            cleaned
        }
    }

    /// Whether the token says the provider checked more than one factor:
    /// `amr` (RFC 8176) holds `mfa`, `otp` or `hwk`, or `acr` is one of
    /// `acr_values`.
    pub fn asserts_mfa(&self, acr_values: &[String]) -> bool {
        let amr = self.claim_values("amr");
        let by_amr = amr
            .iter()
            .any(|m| matches!(m.as_str(), "mfa" | "otp" | "hwk"));
        let by_acr = self
            .claims
            .get("acr")
            .and_then(|acr| acr.as_str())
            .is_some_and(|acr| acr_values.iter().any(|v| v == acr));
        by_amr || by_acr
    }

    /// `sso-` and 12 hex digits of the hash of issuer and subject.
    pub fn subject_name(&self) -> String {
        let digest = Sha256::digest(format!("{}\n{}", self.issuer, self.subject).as_bytes());
        format!("sso-{}", &hex::encode(digest)[..12])
    }
}

/// The role for `identity` under `config`.
pub fn role_for(config: &SsoConfig, identity: &Identity) -> Result<Role, SsoError> {
    let groups = identity.claim_values(&config.role_claim);
    config
        .role_map
        .iter()
        .find(|(group, _)| groups.iter().any(|g| g == group))
        .map(|(_, role)| *role)
        .or(config.default_role)
        .ok_or_else(|| SsoError::NoRole {
            claim: config.role_claim.clone(),
        })
}

/// Verifies an ID token (compact JWS) as the module docs say.
pub fn verify_id_token(
    token: &str,
    keys: &CoreJsonWebKeySet,
    issuer: &IssuerUrl,
    client_id: &str,
    nonce: &str,
    now: DateTime<Utc>,
    skew: Duration,
) -> Result<Identity, SsoError> {
    let id_token =
        CoreIdToken::from_str(token).map_err(|e| SsoError::IdToken(format!("malformed: {e}")))?;
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(client_id.to_string()),
        issuer.clone(),
        keys.clone(),
    )
    .set_allowed_algs(ALLOWED_ALGORITHMS)
    .require_issuer_match(true)
    .require_audience_match(true)
    // No audience but ours: a token minted for another client is refused.
    .set_other_audience_verifier_fn(|_| false)
    // Expiry with the skew: the token is still good until exp + skew.
    .set_time_fn(move || now - skew)
    .set_issue_time_verifier_fn(move |issued| {
        if issued > now + skew {
            Err("issued in the future".into())
        } else if issued < now - MAX_TOKEN_AGE - skew {
            Err("issued too long ago".into())
        } else {
            Ok(())
        }
    });
    let claims = id_token
        .claims(&verifier, &Nonce::new(nonce.to_string()))
        .map_err(|e| SsoError::IdToken(error_chain(&e)))?;
    // The signature covers these bytes: the claims openidconnect does not
    // model (groups) are read from the same, now verified, payload.
    let payload = token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(serde_json::Value::Null);
    Ok(Identity {
        issuer: claims.issuer().to_string(),
        subject: claims.subject().to_string(),
        preferred_username: claims.preferred_username().map(|u| u.to_string()),
        email: claims.email().map(|e| e.to_string()),
        claims: payload,
    })
}

/// A sign-in to start: where to send the browser, and what to keep.
pub struct Authorization {
    pub url: String,
    pub flow: SsoFlow,
}

/// The configured identity provider, with its cached metadata.
pub struct Sso {
    config: SsoConfig,
    issuer: IssuerUrl,
    redirect: RedirectUrl,
    post_logout: PostLogoutRedirectUrl,
    http: reqwest::Client,
    metadata: Mutex<Option<(Instant, Arc<ProviderMetadata>)>>,
}

impl std::fmt::Debug for Sso {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sso")
            .field("config", &self.config)
            .field("redirect", &self.redirect.as_str())
            .finish_non_exhaustive()
    }
}

/// Whether `url` may be used without TLS: loopback only (development, tests).
fn is_loopback(url: &openidconnect::url::Url) -> bool {
    match url.host() {
        Some(openidconnect::url::Host::Domain(d)) => d == "localhost",
        Some(openidconnect::url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(openidconnect::url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The client for the provider: rustls on aws-lc-rs, system roots, no redirects, timeouts.
pub fn http_client() -> Result<reqwest::Client, SsoError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    // Certificates the system cannot parse are skipped; the rest are enough.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SsoError::Config(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        // Following redirects would let a provider response send us anywhere (SSRF).
        .redirect(reqwest::redirect::Policy::none())
        .timeout(StdDuration::from_secs(10))
        .connect_timeout(StdDuration::from_secs(5))
        .build()
        .map_err(|e| SsoError::Config(format!("HTTP client: {e}")))
}

impl Sso {
    /// Checks the configuration; contacts no one (discovery happens at the
    /// first sign-in, so the console starts while the provider is down).
    pub fn new(config: SsoConfig, public_url: &str) -> Result<Sso, SsoError> {
        let issuer = IssuerUrl::new(config.issuer.trim_end_matches('/').to_string())
            .map_err(|e| SsoError::Config(format!("--oidc-issuer `{}`: {e}", config.issuer)))?;
        let issuer_url = issuer.url();
        if issuer_url.scheme() != "https" && !is_loopback(issuer_url) {
            return Err(SsoError::Config(format!(
                "--oidc-issuer `{}`: must be https:// (plain http only on loopback)",
                config.issuer
            )));
        }
        if config.client_id.trim().is_empty() {
            return Err(SsoError::Config("--oidc-client-id is empty".into()));
        }
        let redirect = RedirectUrl::new(format!(
            "{}{CALLBACK_PATH}",
            public_url.trim_end_matches('/')
        ))
        .map_err(|e| SsoError::Config(format!("--public-url `{public_url}`: {e}")))?;
        let post_logout = PostLogoutRedirectUrl::new(format!(
            "{}{POST_LOGOUT_PATH}",
            public_url.trim_end_matches('/')
        ))
        .map_err(|e| SsoError::Config(format!("--public-url `{public_url}`: {e}")))?;
        Ok(Sso {
            config,
            issuer,
            redirect,
            post_logout,
            http: http_client()?,
            metadata: Mutex::new(None),
        })
    }

    /// Whether `iss` (from an authorization response) names our provider.
    pub fn is_issuer(&self, iss: &str) -> bool {
        iss.trim_end_matches('/') == self.issuer.as_str().trim_end_matches('/')
    }

    pub fn config(&self) -> &SsoConfig {
        &self.config
    }

    /// The URL the provider must have registered for this client.
    pub fn redirect_url(&self) -> &str {
        self.redirect.as_str()
    }

    /// The post-logout redirect URL the provider must have registered.
    pub fn post_logout_url(&self) -> &str {
        self.post_logout.as_str()
    }

    /// Fetches the discovery document and keys now (a settings change checks
    /// the issuer before it is saved).
    pub async fn discover(&self) -> Result<(), SsoError> {
        self.metadata(true).await.map(drop)
    }

    /// Where to send a browser to sign out at the provider too (OpenID
    /// Connect RP-Initiated Logout 1.0), if its discovery document has an
    /// `end_session_endpoint`.
    pub async fn logout_url(&self, hint: &IdTokenHint) -> Result<Option<String>, SsoError> {
        let metadata = self.metadata(false).await?;
        let Some(endpoint) = metadata.additional_metadata().end_session_endpoint.clone() else {
            return Ok(None);
        };
        let id_token = CoreIdToken::from_str(&hint.0)
            .map_err(|e| SsoError::IdToken(format!("stored hint: {e}")))?;
        let url = LogoutRequest::from(endpoint)
            .set_id_token_hint(&id_token)
            .set_client_id(ClientId::new(self.config.client_id.clone()))
            .set_post_logout_redirect_uri(self.post_logout.clone())
            .http_get_url();
        Ok(Some(url.to_string()))
    }

    async fn metadata(&self, refresh: bool) -> Result<Arc<ProviderMetadata>, SsoError> {
        let mut cached = self.metadata.lock().await;
        if let Some((fetched, metadata)) = cached.as_ref() {
            if !refresh && fetched.elapsed() < METADATA_TTL {
                return Ok(metadata.clone());
            }
        }
        let metadata = ProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| SsoError::Discovery(error_chain(&e)))?;
        let metadata = Arc::new(metadata);
        *cached = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    fn client(
        &self,
        metadata: &ProviderMetadata,
    ) -> CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    > {
        CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(self.config.client_id.clone()),
            self.config.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(self.redirect.clone())
    }

    /// Starts a sign-in: a fresh state, nonce and PKCE verifier (S256).
    pub async fn authorize(&self) -> Result<Authorization, SsoError> {
        let metadata = self.metadata(false).await?;
        let client = self.client(&metadata);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new(self.config.role_claim.clone()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Authorization {
            url: url.to_string(),
            flow: SsoFlow {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
            },
        })
    }

    /// Exchanges the code (with the PKCE verifier) and verifies the ID token.
    pub async fn finish(
        &self,
        code: &str,
        flow: &SsoFlow,
        now: DateTime<Utc>,
    ) -> Result<(Identity, IdTokenHint), SsoError> {
        let metadata = self.metadata(false).await?;
        let client = self.client(&metadata);
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| SsoError::Exchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| SsoError::Exchange(error_chain(&e)))?;
        // Bearer tokens are not kept: the console only needs the identity.
        let _ = response.access_token();
        let token = response.id_token().ok_or(SsoError::NoIdToken)?.to_string();
        let verify = |keys: &CoreJsonWebKeySet| {
            verify_id_token(
                &token,
                keys,
                &self.issuer,
                &self.config.client_id,
                &flow.nonce,
                now,
                self.config.clock_skew,
            )
        };
        let identity = match verify(metadata.jwks()) {
            Ok(identity) => identity,
            // The provider may have rotated its keys since we fetched them.
            Err(SsoError::IdToken(reason)) if reason.contains("key") => {
                let fresh = self.metadata(true).await?;
                verify(fresh.jwks())?
            }
            Err(other) => return Err(other),
        };
        Ok((identity, IdTokenHint(token)))
    }
}

/// An error and its sources on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use openidconnect::core::{CoreEdDsaPrivateSigningKey, CoreIdTokenClaims};
    use openidconnect::{
        Audience, EmptyAdditionalClaims, EndUserUsername, PrivateSigningKey, StandardClaims,
        SubjectIdentifier,
    };

    const ISSUER: &str = "https://idp.example.com";
    const CLIENT: &str = "palisade";
    const NONCE: &str = "nonce-of-this-sign-in";

    struct Idp {
        key: CoreEdDsaPrivateSigningKey,
    }

    /// A token's claims, changed by a test before signing.
    struct Draft {
        issuer: String,
        audiences: Vec<String>,
        issued: DateTime<Utc>,
        expires: DateTime<Utc>,
        nonce: Option<String>,
    }

    impl Idp {
        fn new() -> Idp {
            let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("ed25519 key");
            let key = CoreEdDsaPrivateSigningKey::from_ed25519_pem(
                &pair.serialize_pem(),
                Some(openidconnect::JsonWebKeyId::new("k1".into())),
            )
            .expect("pem");
            Idp { key }
        }

        fn keys(&self) -> CoreJsonWebKeySet {
            CoreJsonWebKeySet::new(vec![self.key.as_verification_key()])
        }

        fn sign(&self, now: DateTime<Utc>, change: impl FnOnce(&mut Draft)) -> String {
            let mut draft = Draft {
                issuer: ISSUER.into(),
                audiences: vec![CLIENT.into()],
                issued: now,
                expires: now + Duration::minutes(5),
                nonce: Some(NONCE.into()),
            };
            change(&mut draft);
            let claims = CoreIdTokenClaims::new(
                IssuerUrl::new(draft.issuer).expect("issuer"),
                draft.audiences.into_iter().map(Audience::new).collect(),
                draft.expires,
                draft.issued,
                StandardClaims::new(SubjectIdentifier::new("sub-1".into()))
                    .set_preferred_username(Some(EndUserUsername::new("alice".into()))),
                EmptyAdditionalClaims {},
            )
            .set_nonce(draft.nonce.map(Nonce::new));
            CoreIdToken::new(
                claims,
                &self.key,
                CoreJwsSigningAlgorithm::EdDsa,
                None,
                None,
            )
            .expect("sign")
            .to_string()
        }
    }

    fn verify(idp: &Idp, token: &str, now: DateTime<Utc>) -> Result<Identity, SsoError> {
        verify_id_token(
            token,
            &idp.keys(),
            &IssuerUrl::new(ISSUER.into()).expect("issuer"),
            CLIENT,
            NONCE,
            now,
            Duration::seconds(60),
        )
    }

    fn refused(result: Result<Identity, SsoError>) -> String {
        match result {
            Err(SsoError::IdToken(reason)) => reason,
            other => panic!("expected a refused ID token, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_token_gives_the_identity() {
        let idp = Idp::new();
        let now = Utc::now();
        let identity = verify(&idp, &idp.sign(now, |_| {}), now).expect("valid");
        assert_eq!(identity.subject, "sub-1");
        assert_eq!(identity.issuer, ISSUER);
        assert_eq!(identity.preferred_username.as_deref(), Some("alice"));
        assert_eq!(identity.claims["sub"], "sub-1");
    }

    #[test]
    fn wrong_audience_issuer_or_nonce_are_refused() {
        let idp = Idp::new();
        let now = Utc::now();
        let other_client = idp.sign(now, |d| d.audiences = vec!["another-app".into()]);
        assert!(refused(verify(&idp, &other_client, now)).contains("udience"));
        let shared = idp.sign(now, |d| d.audiences.push("another-app".into()));
        assert!(refused(verify(&idp, &shared, now)).contains("udience"));
        let issuer = idp.sign(now, |d| d.issuer = "https://evil.example.com".into());
        assert!(refused(verify(&idp, &issuer, now)).contains("ssuer"));
        let nonce = idp.sign(now, |d| d.nonce = Some("replayed-nonce".into()));
        assert!(refused(verify(&idp, &nonce, now)).contains("once"));
        let none = idp.sign(now, |d| d.nonce = None);
        assert!(refused(verify(&idp, &none, now)).contains("once"));
    }

    #[test]
    fn expiry_and_issue_time_allow_the_clock_skew_and_no_more() {
        let idp = Idp::new();
        let now = Utc::now();
        let just_expired = idp.sign(now, |d| {
            d.issued = now - Duration::minutes(2);
            d.expires = now - Duration::seconds(30);
        });
        assert!(
            verify(&idp, &just_expired, now).is_ok(),
            "within the 60 s skew"
        );
        let expired = idp.sign(now, |d| {
            d.issued = now - Duration::minutes(5);
            d.expires = now - Duration::seconds(90);
        });
        assert!(refused(verify(&idp, &expired, now)).contains("xpired"));
        let future = idp.sign(now, |d| d.issued = now + Duration::seconds(120));
        assert!(refused(verify(&idp, &future, now)).contains("future"));
        let old = idp.sign(now, |d| {
            d.issued = now - Duration::minutes(30);
            d.expires = now + Duration::hours(1);
        });
        assert!(refused(verify(&idp, &old, now)).contains("too long ago"));
    }

    /// Rebuilds a token with another header (the signature left as it was).
    fn with_header(token: &str, header: &str) -> String {
        let mut parts = token.split('.');
        let (_, payload, signature) = (parts.next(), parts.next(), parts.next());
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header);
        format!(
            "{header}.{}.{}",
            payload.unwrap_or(""),
            signature.unwrap_or("")
        )
    }

    #[test]
    fn none_hmac_and_tampered_tokens_are_refused() {
        let idp = Idp::new();
        let now = Utc::now();
        let token = idp.sign(now, |_| {});
        let unsigned = with_header(&token, r#"{"alg":"none"}"#);
        let unsigned = format!("{}.", unsigned.rsplit_once('.').expect("dots").0);
        assert!(verify(&idp, &unsigned, now).is_err(), "alg none");
        // The classic confusion: HS256 "signed" with the provider's public key.
        let hmac = with_header(&token, r#"{"alg":"HS256","kid":"k1"}"#);
        let reason = refused(verify(&idp, &hmac, now));
        assert!(reason.contains("HS256"), "{reason}");
        // Another payload under the original signature.
        let (header, rest) = token.split_once('.').expect("dots");
        let (_, signature) = rest.split_once('.').expect("dots");
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"iss":"https://idp.example.com","aud":"palisade","sub":"admin","exp":9999999999,"iat":0,"nonce":"nonce-of-this-sign-in"}"#);
        assert!(verify(&idp, &format!("{header}.{forged}.{signature}"), now).is_err());
        // A key the provider does not have.
        let stranger = Idp::new();
        assert!(verify(&idp, &stranger.sign(now, |_| {}), now).is_err());
    }

    fn identity(groups: serde_json::Value) -> Identity {
        Identity {
            issuer: ISSUER.into(),
            subject: "s".into(),
            preferred_username: None,
            email: None,
            claims: serde_json::json!({ "groups": groups }),
        }
    }

    #[test]
    fn roles_come_from_the_first_matching_group_or_the_default() {
        let mut config = SsoConfig {
            issuer: ISSUER.into(),
            client_id: CLIENT.into(),
            client_secret: None,
            role_claim: "groups".into(),
            role_map: parse_role_map("sec-team=admin, eng=analyst,audit=auditor").expect("map"),
            default_role: None,
            clock_skew: Duration::seconds(60),
            trust_idp_mfa: true,
            mfa_acr_values: vec![],
        };
        let both = identity(serde_json::json!(["eng", "sec-team"]));
        assert_eq!(role_for(&config, &both).ok(), Some(Role::Admin));
        let single = identity(serde_json::json!("audit"));
        assert_eq!(role_for(&config, &single).ok(), Some(Role::Auditor));
        let none = identity(serde_json::json!(["marketing"]));
        assert!(matches!(
            role_for(&config, &none),
            Err(SsoError::NoRole { .. })
        ));
        config.default_role = Some(Role::Viewer);
        assert_eq!(role_for(&config, &none).ok(), Some(Role::Viewer));
        assert!(parse_role_map("sec-team=root").is_err());
        assert!(parse_role_map("sec-team").is_err());
        assert!(format!("{config:?}").contains("has_client_secret"));
    }

    #[test]
    fn mfa_is_asserted_by_amr_or_a_configured_acr() {
        let mut who = identity(serde_json::json!([]));
        assert!(!who.asserts_mfa(&[]));
        who.claims = serde_json::json!({ "amr": ["pwd"] });
        assert!(!who.asserts_mfa(&[]));
        for method in ["mfa", "otp", "hwk"] {
            who.claims = serde_json::json!({ "amr": ["pwd", method] });
            assert!(who.asserts_mfa(&[]), "{method}");
        }
        let phishing_resistant = vec!["phr".to_string()];
        who.claims = serde_json::json!({ "acr": "phr" });
        assert!(who.asserts_mfa(&phishing_resistant));
        assert!(!who.asserts_mfa(&[]));
        who.claims = serde_json::json!({ "acr": "basic" });
        assert!(!who.asserts_mfa(&phishing_resistant));
    }

    #[test]
    fn usernames_come_from_the_claims_and_stay_valid() {
        let mut who = identity(serde_json::json!([]));
        who.email = Some("Ann Lee@example.com".into());
        assert_eq!(who.username_hint(), "Ann-Lee@example.com");
        who.preferred_username = Some("ann".into());
        assert_eq!(who.username_hint(), "ann");
        who.preferred_username = Some("///".into());
        assert!(who.username_hint().starts_with("sso-"));
    }

    #[test]
    fn issuers_need_https_except_on_loopback() {
        let config = |issuer: &str| SsoConfig {
            issuer: issuer.into(),
            client_id: CLIENT.into(),
            client_secret: Some("s3cret".into()),
            role_claim: "groups".into(),
            role_map: vec![],
            default_role: Some(Role::Viewer),
            clock_skew: Duration::seconds(60),
            trust_idp_mfa: true,
            mfa_acr_values: vec![],
        };
        assert!(Sso::new(config("http://idp.example.com"), "https://p").is_err());
        assert!(Sso::new(config("http://127.0.0.1:9000"), "http://127.0.0.1:8080").is_ok());
        let sso =
            Sso::new(config("https://idp.example.com/"), "https://p.example.com/").expect("valid");
        assert_eq!(sso.redirect_url(), "https://p.example.com/sso/callback");
        assert!(sso.is_issuer("https://idp.example.com"));
        assert!(!format!("{sso:?}").contains("s3cret"));
    }
}
