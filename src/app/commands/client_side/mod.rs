//! Commands issued inside the client account: super admin to partner admin (MIG), creating
//! users (SEAT-6, SEAT-7), seats (SEAT-3, SEAT-5, SEAT-8, SEAT-9), the client's permission sets
//! and single permissions (SEAT-4, PERM-4), and removing users (REM-9).
//!
//! This file holds what they share: the one question each asks before it sets a seat or paid
//! licences, and SEAT-5's check.

mod assign_seats;
mod client_permission;
mod create_user;
mod migrate_to_partner_admin;
mod remove_user;
mod set_client_permission_set;
mod set_paid_hubs;
mod set_seat;

use serde_json::json;

pub use assign_seats::{AssignSeats, AssignSeatsBody, SeatsAssigned};
pub use client_permission::{GrantClientPermission, RevokeClientPermission};
pub use create_user::{CreateUser, CreateUserBody, CreatedUser};
pub use migrate_to_partner_admin::{MigrateToPartnerAdmin, MigrateToPartnerAdminBody};
pub use remove_user::{RemoveUser, RemovedUser};
pub use set_client_permission_set::{SetClientPermissionSet, SetClientPermissionSetBody};
pub use set_paid_hubs::{SetPaidHubs, SetPaidHubsBody};
pub use set_seat::{SetSeat, SetSeatBody};

use super::{CmdError, CmdResult, Ctx, account, conflict, context, user_ref};
use crate::app::AppError;
use crate::domain::{
    ClientId, ClientRecord, ClientUserRecord, Email, PaidHub, PartnerId, Role, Seat,
};

/// The user as the saved client holds it (a save may link it to its partner, LINK-3).
fn saved_user(saved: &ClientRecord, user: ClientUserRecord) -> ClientUserRecord {
    saved
        .users
        .iter()
        .find(|u| u.email == user.email)
        .cloned()
        .unwrap_or(user)
}

/// 403: the user may not hold the partner seat (SEAT-2).
fn seat_ineligible(email: &Email, client: &ClientId) -> CmdError {
    CmdError::Refused(AppError::Forbidden {
        message: format!(
            "`{email}` may not hold the partner seat in `{client}`: it is for employees of solutions partners and providers with an approved partner e-mail domain"
        ),
        rules: vec!["SEAT-2".into(), "partner-seat-eligibility".into()],
    })
}

impl Ctx<'_> {
    /// SEAT-8: may the actor put `email` on `seat` in the client. Every command that sets a
    /// seat asks this one question.
    fn authorize_seat(&mut self, client: &ClientId, email: &Email, seat: Seat) -> CmdResult<()> {
        self.authorize(
            "user.set_seat",
            account(client),
            context([("target", user_ref(email)), ("seat", json!(seat.as_str()))]),
        )
    }

    /// SEAT-9, SEAT-8: may the actor give `email` these paid hub licences in the client. Every
    /// command that sets paid licences asks this one question.
    fn authorize_paid_hubs(
        &mut self,
        client: &ClientId,
        email: &Email,
        hubs: &[PaidHub],
    ) -> CmdResult<()> {
        self.authorize(
            "user.set_paid_hubs",
            account(client),
            context([
                ("target", user_ref(email)),
                (
                    "paid_hubs",
                    json!(hubs.iter().map(|h| h.as_str()).collect::<Vec<_>>()),
                ),
            ]),
        )
    }

    /// The partner a user would be linked to as partner admin: its employer.
    fn employer_of(&mut self, email: &Email) -> CmdResult<Option<PartnerId>> {
        Ok(self
            .tx()
            .user(email)?
            .and_then(|u| u.employment)
            .map(|e| e.partner))
    }
}

/// SEAT-5: a partner admin must hold the partner seat.
fn partner_admins_keep_the_seat(user: &ClientUserRecord) -> CmdResult<()> {
    if user.role == Role::PartnerAdmin && user.seat != Seat::Partner {
        return Err(conflict(
            format!(
                "`{}` is a partner admin and must hold the partner seat, not `{}`",
                user.email, user.seat
            ),
            &["SEAT-5"],
        ));
    }
    Ok(())
}
