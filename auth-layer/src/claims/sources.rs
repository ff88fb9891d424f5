//! Where the layer reads scopes and roles: [`GrantClaims`], a set of
//! [`ClaimPath`]s, with presets for the claim layouts of Keycloak, Entra
//! ID, Auth0 and Okta.

use std::fmt;
use std::str::FromStr;

use serde::Deserializer;
use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, Visitor};

use crate::claims::borrowed::Text;
use crate::claims::grants::ListBuilder;
use crate::claims::lists::ListSeed;
use crate::claims::skip::skip_scalars;
use crate::error::ConfigError;

/// The path of a claim inside the payload: the top-level name, then the
/// members of nested objects.
///
/// Parsed from a JSON pointer (RFC 6901: `/realm_access/roles`, with `~1`
/// for `/` and `~0` for `~` inside a name) or, when it does not start with
/// `/`, a dotted path (`realm_access.roles`). A name holding a dot (a
/// namespaced claim such as `https://example.com/roles`, a client id such
/// as `orders.api`) needs a pointer or [`from_segments`](Self::from_segments).
///
/// ```
/// use auth_layer::claims::ClaimPath;
///
/// let dotted: ClaimPath = "resource_access.orders-api.roles".parse().unwrap();
/// let pointer: ClaimPath = "/resource_access/orders-api/roles".parse().unwrap();
/// assert_eq!(dotted, pointer);
/// assert_eq!(dotted.segments().collect::<Vec<_>>(), ["resource_access", "orders-api", "roles"]);
///
/// let namespaced: ClaimPath = "/https:~1~1example.com~1roles".parse().unwrap();
/// assert_eq!(namespaced, ClaimPath::from_segments(["https://example.com/roles"]).unwrap());
/// assert!("realm_access..roles".parse::<ClaimPath>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClaimPath {
    segments: Box<[Box<str>]>,
}

impl ClaimPath {
    /// A path from its names, outermost first, taken as they are.
    ///
    /// # Errors
    /// No segment, or an empty one.
    pub fn from_segments<I, S>(segments: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let segments: Box<[Box<str>]> = segments
            .into_iter()
            .map(|s| s.into().into_boxed_str())
            .collect();
        if segments.is_empty() || segments.iter().any(|s| s.is_empty()) {
            return Err(ConfigError::setting(
                "grant_claims",
                "a claim path needs at least one name and no empty name",
            ));
        }
        Ok(Self { segments })
    }

    /// The names, outermost first.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().map(AsRef::as_ref)
    }

    /// The top-level claim's name.
    fn first(&self) -> &str {
        self.segments.first().map_or("", AsRef::as_ref)
    }
}

impl FromStr for ClaimPath {
    type Err = ConfigError;

    fn from_str(path: &str) -> Result<Self, ConfigError> {
        let result = match path.strip_prefix('/') {
            Some(pointer) => Self::from_segments(
                pointer
                    .split('/')
                    .map(|s| s.replace("~1", "/").replace("~0", "~")),
            ),
            None => Self::from_segments(path.split('.')),
        };
        result.map_err(|_| {
            ConfigError::setting(
                "grant_claims",
                format!(
                    "{path:?} is not a claim path: write a dotted path (`realm_access.roles`) or a JSON pointer (`/realm_access/roles`)"
                ),
            )
        })
    }
}

impl fmt::Debug for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for ClaimPath {
    /// The JSON pointer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for segment in &self.segments {
            write!(f, "/{}", segment.replace('~', "~0").replace('/', "~1"))?;
        }
        Ok(())
    }
}

/// What a claim read as a grant adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Scopes,
    Roles,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Source {
    path: ClaimPath,
    target: Target,
    /// A string value is split on spaces (as `scope` is), else one item.
    split: bool,
}

/// Where the layer reads a token's scopes and roles (its
/// [`Grants`](crate::claims::Grants)), in its one pass over the payload.
///
/// The default reads RFC 9068's claims: scopes from `scope` and `scp`
/// (space-separated strings or arrays), roles from `roles` (an array, or
/// one string that is one role). Each method adds a claim; the presets add
/// where each identity provider puts its roles and permissions, so that
/// [`Require::role`](crate::require::Require::role) and the scope guards
/// see them. A claim of another shape (a number, an object) grants
/// nothing; a claim named twice on a path refuses the token.
///
/// | preset | scopes | roles |
/// |---|---|---|
/// | [`keycloak`](Self::keycloak) | `scope` | `realm_access.roles`, `resource_access.<client>.roles` |
/// | [`entra_id`](Self::entra_id) | `scp` | `roles`, `groups` (object ids) |
/// | [`auth0`](Self::auth0) | `scope`, `permissions` (RBAC) | a namespaced claim you add with [`roles_from`](Self::roles_from) |
/// | [`okta`](Self::okta) | `scp` | `groups` |
///
/// ```
/// use auth_layer::JwtAuth;
/// use auth_layer::claims::GrantClaims;
///
/// let auth = JwtAuth::builder()
///     .hmac_secret("a-secret-of-at-least-thirty-two-bytes!")
///     .grant_claims(GrantClaims::keycloak(["orders-api"]))
///     .build()
///     .unwrap();
/// let token = jsonwebtoken::encode(
///     &jsonwebtoken::Header::default(),
///     &serde_json::json!({
///         "sub": "alice",
///         "exp": 4_000_000_000_u64,
///         "scope": "openid profile",
///         "realm_access": { "roles": ["offline_access", "default-roles-shop"] },
///         "resource_access": {
///             "orders-api": { "roles": ["orders-admin"] },
///             "account": { "roles": ["manage-account"] }
///         }
///     }),
///     &jsonwebtoken::EncodingKey::from_secret(b"a-secret-of-at-least-thirty-two-bytes!"),
/// )
/// .unwrap();
/// let verified = auth.verifier().verify(&token).unwrap();
/// assert!(verified.has_role("orders-admin") && verified.has_role("offline_access"));
/// assert!(!verified.has_role("manage-account"), "another client's roles are not read");
/// assert!(verified.has_scope("profile"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantClaims {
    sources: Vec<Source>,
    errors: Vec<String>,
}

impl Default for GrantClaims {
    fn default() -> Self {
        Self::none()
            .scopes_from("scope")
            .scopes_from("scp")
            .roles_from("roles")
    }
}

impl GrantClaims {
    /// No claim at all: tokens grant nothing until a method adds one.
    pub fn none() -> Self {
        Self {
            sources: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Also reads scopes from `path` (a [`ClaimPath`] or a string parsed as
    /// one): an array of strings, or a space-separated string.
    #[must_use]
    pub fn scopes_from(self, path: impl IntoClaimPath) -> Self {
        self.add(path.into_claim_path(), Target::Scopes, true)
    }

    /// Also reads roles from `path`: an array of strings, or one string
    /// that is one role.
    #[must_use]
    pub fn roles_from(self, path: impl IntoClaimPath) -> Self {
        self.add(path.into_claim_path(), Target::Roles, false)
    }

    /// Also reads roles from `path` where a string holds several roles,
    /// separated by spaces (an array is read as with
    /// [`roles_from`](Self::roles_from)).
    #[must_use]
    pub fn spaced_roles_from(self, path: impl IntoClaimPath) -> Self {
        self.add(path.into_claim_path(), Target::Roles, true)
    }

    /// Keycloak: the default claims, the realm roles
    /// (`realm_access.roles`) and the roles of each client in `clients`
    /// (`resource_access.<client>.roles`, usually the resource server's
    /// own client id; a client id may hold dots). Realm and client roles
    /// are one list: name them apart in Keycloak if they could clash.
    pub fn keycloak<I, S>(clients: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut claims = Self::default().roles_from("realm_access.roles");
        for client in clients {
            let path = ClaimPath::from_segments([
                "resource_access".to_owned(),
                client.into(),
                "roles".to_owned(),
            ]);
            claims = claims.add(path, Target::Roles, false);
        }
        claims
    }

    /// Microsoft Entra ID: the default claims (`scp` is a space-separated
    /// string for delegated access, `roles` the app roles) and the group
    /// object ids of `groups`.
    pub fn entra_id() -> Self {
        Self::default().roles_from("groups")
    }

    /// Auth0: the default claims and the RBAC `permissions` array (enable
    /// "Add Permissions in the Access Token"), read as scopes, as Auth0's
    /// own middleware does. Auth0 puts roles only in a namespaced claim an
    /// Action adds: add it with `.roles_from("/https:~1~1your.app~1roles")`
    /// or `ClaimPath::from_segments(["https://your.app/roles"])`.
    pub fn auth0() -> Self {
        Self::default().scopes_from("permissions")
    }

    /// Okta (custom authorization server): the default claims (`scp` is an
    /// array) and `groups`, which a groups claim adds to access tokens.
    pub fn okta() -> Self {
        Self::default().roles_from("groups")
    }

    fn add(mut self, path: Result<ClaimPath, ConfigError>, target: Target, split: bool) -> Self {
        match path {
            Ok(path) => self.sources.push(Source {
                path,
                target,
                split,
            }),
            Err(error) => self.errors.push(error.to_string()),
        }
        self
    }

    /// The paths read, each with what it adds to (`"scopes"` or `"roles"`).
    pub fn paths(&self) -> impl Iterator<Item = (&ClaimPath, &'static str)> {
        self.sources.iter().map(|s| {
            let target = match s.target {
                Target::Scopes => "scopes",
                Target::Roles => "roles",
            };
            (&s.path, target)
        })
    }

    /// Checks the paths and builds the reader the one pass uses. `taken`
    /// are the top-level names the layer reads for other purposes.
    pub(crate) fn compile(&self, taken: &[&str]) -> Result<GrantReader, ConfigError> {
        if let Some(error) = self.errors.first() {
            return Err(ConfigError::setting("grant_claims", error.clone()));
        }
        let mut top: Vec<Node> = Vec::new();
        for source in &self.sources {
            if taken.contains(&source.path.first()) {
                return Err(ConfigError::setting(
                    "grant_claims",
                    format!(
                        "{} is a claim the layer reads for another purpose: grants cannot come from it",
                        source.path
                    ),
                ));
            }
            Node::insert(&mut top, &source.path.segments, source)?;
        }
        if top.len() > MAX_NAMES {
            return Err(ConfigError::setting(
                "grant_claims",
                format!("at most {MAX_NAMES} top-level claims can hold grants"),
            ));
        }
        Ok(GrantReader { top })
    }
}

/// Names per object level a reader tells apart (a bit each).
const MAX_NAMES: usize = 64;

/// A claim path or a string parsed as one, for [`GrantClaims`]' methods.
pub trait IntoClaimPath {
    /// The path, or why the string is not one.
    ///
    /// # Errors
    /// A string that is not a claim path.
    fn into_claim_path(self) -> Result<ClaimPath, ConfigError>;
}

impl IntoClaimPath for ClaimPath {
    fn into_claim_path(self) -> Result<ClaimPath, ConfigError> {
        Ok(self)
    }
}

impl IntoClaimPath for &str {
    fn into_claim_path(self) -> Result<ClaimPath, ConfigError> {
        self.parse()
    }
}

impl IntoClaimPath for String {
    fn into_claim_path(self) -> Result<ClaimPath, ConfigError> {
        self.parse()
    }
}

/// One name of the compiled paths: a leaf read as a list, or an object
/// whose members are followed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    name: Box<str>,
    kind: NodeKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum NodeKind {
    Leaf { target: Target, split: bool },
    Object(Vec<Node>),
}

impl Node {
    fn insert(
        level: &mut Vec<Node>,
        rest: &[Box<str>],
        source: &Source,
    ) -> Result<(), ConfigError> {
        let clash = || {
            ConfigError::setting(
                "grant_claims",
                format!(
                    "{} is read twice, or inside another path that is read",
                    source.path
                ),
            )
        };
        let Some((name, deeper)) = rest.split_first() else {
            return Err(clash());
        };
        let found = level.iter_mut().find(|n| n.name == *name);
        match (found, deeper.is_empty()) {
            (None, true) => level.push(Node {
                name: name.clone(),
                kind: NodeKind::Leaf {
                    target: source.target,
                    split: source.split,
                },
            }),
            (None, false) => {
                let mut children = Vec::new();
                Self::insert(&mut children, deeper, source)?;
                level.push(Node {
                    name: name.clone(),
                    kind: NodeKind::Object(children),
                });
            }
            (Some(node), false) => match &mut node.kind {
                NodeKind::Object(children) if children.len() < MAX_NAMES => {
                    Self::insert(children, deeper, source)?;
                }
                _ => return Err(clash()),
            },
            (Some(_), true) => return Err(clash()),
        }
        Ok(())
    }
}

/// The compiled [`GrantClaims`]: what the one pass consults for each
/// top-level name it does not read itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GrantReader {
    top: Vec<Node>,
}

impl Default for GrantReader {
    fn default() -> Self {
        // The default paths cannot clash.
        GrantClaims::default()
            .compile(&[])
            .unwrap_or(Self { top: Vec::new() })
    }
}

/// The lists a pass fills.
pub(crate) struct GrantLists {
    pub(crate) scopes: ListBuilder,
    pub(crate) roles: ListBuilder,
}

impl GrantReader {
    /// The index of the top-level `name`, if grants are read from it.
    #[inline]
    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        self.top.iter().position(|n| &*n.name == name)
    }

    /// Reads the value of the top-level claim at `index` (from
    /// [`find`](Self::find)) into `lists`.
    pub(crate) fn read<'de, A: MapAccess<'de>>(
        &self,
        index: usize,
        map: &mut A,
        lists: &mut GrantLists,
    ) -> Result<(), A::Error> {
        match self.top.get(index) {
            Some(node) => map.next_value_seed(NodeSeed { node, lists }),
            None => map.next_value::<IgnoredAny>().map(|_| ()),
        }
    }
}

struct NodeSeed<'a> {
    node: &'a Node,
    lists: &'a mut GrantLists,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match &self.node.kind {
            NodeKind::Leaf { target, split } => {
                let list = match target {
                    Target::Scopes => &mut self.lists.scopes,
                    Target::Roles => &mut self.lists.roles,
                };
                ListSeed {
                    list,
                    split: *split,
                }
                .deserialize(d)
            }
            NodeKind::Object(children) => d.deserialize_any(ObjectVisitor {
                children,
                lists: self.lists,
            }),
        }
    }
}

/// An object on a path: its members named by the paths are followed, the
/// rest skipped; any other value grants nothing.
struct ObjectVisitor<'a> {
    children: &'a [Node],
    lists: &'a mut GrantLists,
}

impl<'de> Visitor<'de> for ObjectVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = 0_u64;
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            match self.children.iter().position(|n| *n.name == *key) {
                Some(i) => {
                    let bit = 1_u64 << (i % MAX_NAMES);
                    if seen & bit != 0 {
                        return Err(A::Error::custom(format_args!("duplicate claim `{key}`")));
                    }
                    seen |= bit;
                    if let Some(node) = self.children.get(i) {
                        map.next_value_seed(NodeSeed {
                            node,
                            lists: self.lists,
                        })?;
                    }
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    skip_scalars!(());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_as_pointers_or_dotted_and_print_as_pointers() {
        let p: ClaimPath = "/a~1b/c~0d".parse().unwrap();
        assert_eq!(p.segments().collect::<Vec<_>>(), ["a/b", "c~d"]);
        assert_eq!(p.to_string(), "/a~1b/c~0d");
        for bad in ["", "/", "a.", ".a", "//x", "/x/"] {
            assert!(bad.parse::<ClaimPath>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn clashing_paths_are_refused_at_build() {
        let clash = GrantClaims::default().roles_from("scope.x");
        assert!(clash.compile(&[]).is_err(), "inside a leaf");
        let twice = GrantClaims::default().scopes_from("roles");
        assert!(twice.compile(&[]).is_err(), "the same path twice");
        let taken = GrantClaims::none().roles_from("sub");
        let e = taken.compile(&["sub"]).unwrap_err().to_string();
        assert!(e.contains("/sub"), "{e}");
        let bad = GrantClaims::none().roles_from("a..b");
        assert!(bad.compile(&[]).is_err());
        let ok = GrantClaims::keycloak(["a", "b.c"]).compile(&[]).unwrap();
        assert_eq!(ok.top.len(), 5);
    }
}
