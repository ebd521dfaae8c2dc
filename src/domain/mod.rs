//! The domain model every layer shares: typed ids, the rule book's vocabularies, a decision's
//! verdict, the permission catalogue, the state document and its validation, and the read
//! interface decisions use.
//!
//! Owns: the types every layer shares, and the OpenAPI schemas of those that travel
//! (`utoipa::ToSchema`: a schema describes a type, whatever carries it). May not: name any
//! other module of the crate, or know about HTTP, redb or Cedar; those layers translate to and
//! from these types.

pub mod catalogue;
pub mod client_account;
pub mod directory;
pub mod enums;
pub mod ids;
pub mod orphans;
pub mod policy_version;
pub mod relationship;
pub mod state;
pub mod time;
pub mod validate;
pub mod verdict;

pub use catalogue::{Catalogue, Permission};
pub use client_account::{Ending, Violation};
pub use directory::{ClientInfo, Directory, Employment, PartnerInfo, StateIndex, UserInfo};
pub use enums::{EmployeeManagement, PaidHub, PricingModel, Role, Seat, Status, Tier};
pub use ids::{
    AssetId, ClientId, Email, IdError, MAX_EMAIL_LEN, MAX_ID_LEN, PartnerId, PermissionSetName,
};
pub use orphans::{Holder, MAX_HOLDERS_SHOWN, Orphaned, OrphanedPermissions, check_orphans};
pub use policy_version::PolicyVersion;
pub use relationship::{
    EndingSpan, MAX_SPAN_ACTIVITY, PeriodView, RELATIONSHIP_GRACE_DAYS, RelationshipHistory,
    RelationshipPeriod, RelationshipState, RelationshipView,
};
pub use state::{
    AssetRecord, ClientRecord, ClientUserRecord, EmployeeRecord, PartnerRecord,
    PermissionSetRecord, StateDocument, StateParseError,
};
pub use time::Timestamp;
pub use validate::{Problem, validate};
pub use verdict::Verdict;
