//! The closed vocabularies of the rule book (docs/rules.md): tier, role, seat, status, employee management and
//! pricing model.
//!
//! Each is a Rust enum that serializes as the snake_case name the rule book uses, so an unknown
//! value in a request or a state document is a parse error naming the value and the accepted
//! ones. `as_str` gives the same name for the Cedar entities, and the OpenAPI schema lists the
//! same names as a string enum.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
            ToSchema,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in the rule book's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The rule book's name for this value (as in JSON and in Cedar entities).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown {} `{}`, expected one of {}",
                        stringify!($name).to_lowercase(),
                        other,
                        [$(concat!("`", $text, "`")),+].join(", ")
                    )),
                }
            }
        }
    };
}

vocabulary!(
    /// A partner account's tier. Only solutions partners and providers get partner admins and
    /// partner seats (PA-2, SEAT-2).
    Tier {
        SolutionsPartner => "solutions_partner",
        Provider => "provider",
        /// Any other partner, e.g. an app partner.
        Other => "other",
    }
);

impl Seat {
    /// A seat paid for per hub (`sales_paid`, `service_paid`): giving one is a billing matter
    /// (SEAT-8).
    pub fn is_paid(self) -> bool {
        matches!(self, Seat::SalesPaid | Seat::ServicePaid)
    }
}

vocabulary!(
    /// A paid hub licence a client user holds besides its seat (SEAT-9): on `legacy` pricing
    /// the partner seat does not give the paid features of a hub, the licence does.
    PaidHub {
        Sales => "sales",
        Service => "service",
    }
);

vocabulary!(
    /// A client user's role in one client account.
    Role {
        SuperAdmin => "super_admin",
        PartnerAdmin => "partner_admin",
        Standard => "standard",
    }
);

vocabulary!(
    /// A client user's seat in one client account.
    Seat {
        /// The free partner seat (SEAT-1).
        Partner => "partner",
        Core => "core",
        ViewOnly => "view_only",
        SalesPaid => "sales_paid",
        ServicePaid => "service_paid",
        None => "none",
    }
);

vocabulary!(
    /// Whether a client user can act in the account (CAP-7).
    Status {
        Active => "active",
        Deactivated => "deactivated",
    }
);

vocabulary!(
    /// A partner employee's "partner employee management" permission (PA-1).
    EmployeeManagement {
        None => "none",
        View => "view",
        ViewEdit => "view_edit",
    }
);

vocabulary!(
    /// How a client account pays for seats (SEAT-9).
    PricingModel {
        SeatBased => "seat_based",
        Legacy => "legacy",
    }
);

impl Tier {
    /// Solutions partners and providers: the tiers whose employees can become partner admins
    /// and hold the partner seat (PA-2, SEAT-2).
    pub fn is_managing_tier(self) -> bool {
        matches!(self, Tier::SolutionsPartner | Tier::Provider)
    }
}

#[allow(
    clippy::derivable_impls,
    reason = "the vocabulary macro does not derive `Default`"
)]
impl Default for Status {
    fn default() -> Self {
        Status::Active
    }
}

#[allow(
    clippy::derivable_impls,
    reason = "the vocabulary macro does not derive `Default`"
)]
impl Default for EmployeeManagement {
    fn default() -> Self {
        EmployeeManagement::None
    }
}

impl PaidHub {
    /// Licences as a user record keeps them: sorted, each once.
    pub fn normalized(hubs: &[PaidHub]) -> Vec<PaidHub> {
        let mut hubs = hubs.to_vec();
        hubs.sort();
        hubs.dedup();
        hubs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_json_and_text() {
        for seat in Seat::ALL {
            let json = serde_json::to_string(seat).unwrap();
            assert_eq!(json, format!("\"{}\"", seat.as_str()));
            assert_eq!(seat.as_str().parse::<Seat>().unwrap(), *seat);
        }
    }

    #[test]
    fn unknown_values_are_named() {
        let err = serde_json::from_str::<Seat>("\"gold\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("gold"), "{err}");
        let err = "gold".parse::<Seat>().unwrap_err();
        assert!(err.contains("`gold`") && err.contains("`partner`"), "{err}");
    }
}
