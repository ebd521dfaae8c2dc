// The partner-access HTTP API's types, generated from its OpenAPI document by
// openapi-typescript (`npm run generate`; do not edit: a test compares this file with the
// document the sidecar serves).
export interface paths {
    "/access/v1/evaluation": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** AuthZEN: one access evaluation. */
        post: operations["evaluation"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/access/v1/evaluations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * AuthZEN: several access evaluations in one call; each item's fields override the defaults
         *     given at the top level.
         */
        post: operations["evaluations"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The process is up. */
        get: operations["healthz"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Prometheus metrics: decisions by action and outcome, check latency, cache hits and misses,
         *     store errors, policy reloads, HTTP requests.
         */
        get: operations["metrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This document. */
        get: operations["openapi"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The store is open, readable and writable, and policies are loaded (503 otherwise, saying
         *     what fails).
         */
        get: operations["readyz"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/ui": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The playground page: pick a principal, action and account, see the decision and why. */
        get: operations["index"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/ui/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The playground page at `/ui/` too: the address a browser or a person completes `/ui` to.
         *     (The page names its script and style by absolute path, so it works at either.)
         */
        get: operations["index_slash"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/ui/app.css": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The playground's style sheet. */
        get: operations["style"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/ui/app.js": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The playground's script. */
        get: operations["script"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/access-links/{token}/approve": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** PA-2, PA-4, PA-5: approve an access link in a client account. */
        post: operations["approve_access_link"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/actions_allowed": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Every declared action (without required context) the principal may take on the resource,
         *     in one call.
         */
        post: operations["actions_allowed"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/backup": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A consistent copy of the store file as of one revision, taken while the sidecar serves:
         *     save it, and restore by stopping the sidecar and putting it back as `state.redb` in the data
         *     directory (`partner-access check-store FILE` checks it first). A fleet's PostgreSQL store is
         *     backed up with `pg_dump` instead (409).
         */
        get: operations["backup"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/clients/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Creates or replaces a client (its users and assets too when given). */
        put: operations["put_client"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/clients/{id}/assets/{asset}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Creates or replaces one asset of a client. */
        put: operations["put_asset"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/clients/{id}/users/{email}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Creates or replaces one user of a client. */
        put: operations["put_user"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/export": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The whole state as a state document; `import` of it gives the same state back. */
        get: operations["export"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/import": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Loads a state document, all or nothing: every problem is reported and nothing changes. */
        post: operations["import"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/partners/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Creates or replaces a partner (its employees too when `employees` is given). */
        put: operations["put_partner"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/partners/{id}/employees/{email}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Creates or replaces one employee of a partner. */
        put: operations["put_employee"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/policies": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Validates a policy set strictly, runs the tests given against it, and stores it as an
         *     immutable version (the same files again: nothing stored, the version answered); with
         *     `activate`, then makes it the active one as `.../activate` does.
         */
        put: operations["push"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/policies/impact": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * The impact of replacing one stored version by another on the store's state: every check
         *     decision (client user × check action × member account) that changes, grouped by action,
         *     direction and the policies and rule ids that decided before and after, with counts per
         *     action and per role and the first examples of each group. Runs on a blocking thread within
         *     the request's deadline (past it: 503, nothing changed); `partner-access policies diff` has no
         *     deadline.
         */
        post: operations["impact"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/policies/reload": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Re-reads `policies/` and `schema/` (on a sidecar serving the store's policies, the store's
         *     active version). An invalid set is refused with every error (file, line),
         *     a schema that drops a permission stored users or permission sets hold is refused with what
         *     it would orphan, and in both cases the old set keeps serving.
         */
        post: operations["reload"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/policies/versions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The stored policy versions (oldest push first, with who pushed each, when, the tests it
         *     passed, and which is active) and every activation (oldest first).
         */
        get: operations["versions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/policies/versions/{version}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One stored version with its files: its hash, or a unique prefix of at least 8 hex digits. */
        get: operations["version"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/policies/versions/{version}/activate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Makes a stored version the active one, on this sidecar at once and on every sidecar of a
         *     fleet serving the store's policies within the staleness bound: atomically with the check
         *     that the stored state holds no permission its schema lacks. Rollback is activating an
         *     earlier version. Activating the active version changes nothing (`changed: false`).
         */
        post: operations["activate"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Audit records, oldest first, with a cursor (admin token). */
        get: operations["audit"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/clients/{client}/partner-admins": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** MIG-1..4: change a super admin to partner admin, keeping billing if asked. */
        post: operations["migrate_to_partner_admin"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/clients/{client}/partner-users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** ADD-1..6, PERM-2: add employees of the actor's partner with one permission set. */
        post: operations["add_partner_users"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/clients/{client}/partner-users/{employee}/deactivate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** REM-2, MIG-4: deactivate a partner user. */
        post: operations["deactivate_partner_user"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/clients/{client}/partner-users/{employee}/permission-set": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** PERM-1..3: apply a permission set to a partner user (grant only what you hold). */
        put: operations["set_partner_permission_set"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/clients/{client}/partner-users/{employee}/permissions/{permission}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * PERM-4, PERM-2: add one permission to a partner user from the CAM (role unchanged;
         *     what the actor does not hold is `withheld`).
         */
        put: operations["grant_partner_permission"];
        post?: never;
        /**
         * PERM-4, PERM-2: remove one permission of a partner user from the CAM (role unchanged;
         *     what the actor does not hold is `kept`).
         */
        delete: operations["revoke_partner_permission"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/clients/{client}/partner-users/{employee}/reactivate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** REM-3, REM-7: reactivate a partner user. */
        post: operations["reactivate_partner_user"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/clients/{client}/partner-users/reactivate-all": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * REM-7: reactivate every deactivated partner user of the actor's partner in the client
         *     at once (a deactivated partner admin, when all of them are deactivated: itself too).
         */
        post: operations["reactivate_all_partner_users"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/clients/{client}/partner-users/removal-preview": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** REM-6: preview removing every partner user of the actor's partner from a client. */
        post: operations["client_removal_preview"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/clients/{client}/partner-users/remove-all": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** REM-6, REM-8, REL-2: remove every partner user of the actor's partner from a client. */
        post: operations["remove_all_partner_users"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/clients/{client}/relationship": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The managed relationship at an instant, past or future: `active`, `ending`, `ended` or
         *     `none`. A past instant is answered from the recorded history (REL-5).
         */
        get: operations["relationship"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/clients/{client}/relationship/history": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Every managed relationship of the client, oldest first: partner, start, since when it is
         *     ending, end (REL-4, REL-5).
         */
        get: operations["relationship_history"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/clients/{client}/seats": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** SEAT-3: the partner seat for several users, all or nothing. */
        post: operations["assign_seats"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/clients/{client}/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The users of a client account. */
        get: operations["client_users"];
        put?: never;
        /** SEAT-6, SEAT-7: create a user in the client account. */
        post: operations["create_user"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/clients/{client}/users/{email}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** REM-9, MIG-4: remove a user from the client account. */
        delete: operations["remove_user"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/clients/{client}/users/{email}/paid-hubs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** SEAT-9, SEAT-8: set a user's paid Sales Hub / Service Hub licences (besides its seat). */
        put: operations["set_paid_hubs"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/clients/{client}/users/{email}/permission-set": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** SEAT-4: apply one of the client's permission sets. */
        put: operations["set_client_permission_set"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/clients/{client}/users/{email}/permissions/{permission}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** PERM-4, SEAT-4: add one permission to a user in the client account (role unchanged). */
        put: operations["grant_client_permission"];
        post?: never;
        /** PERM-4, SEAT-4: remove one permission of a user in the client account (role unchanged). */
        delete: operations["revoke_client_permission"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/clients/{client}/users/{email}/seat": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** SEAT-5, SEAT-8: change a user's seat. */
        put: operations["set_seat"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Outbox events, oldest first, with a cursor (admin token). */
        get: operations["events"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/events/stream": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The outbox as Server-Sent Events, from a cursor on, as events are committed (admin token). */
        get: operations["events_stream"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/explain": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Decides a check and explains it: the deciding policies with their text and rule ids, and
         *     for a Deny the permits that could have allowed it and which of their conditions failed.
         */
        post: operations["explain"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/is_authorized": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Decides one check. */
        post: operations["is_authorized"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/is_authorized/batch": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Decides up to 1,000 checks; a bad item gets an `error` and does not fail the others. */
        post: operations["is_authorized_batch"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/partners/{partner}/access-links": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** PA-1, PA-3: get an access link (own, or a colleague's); `rotate` revokes earlier ones. */
        post: operations["issue_access_link"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/partners/{partner}/clients": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Clients the partner's employees can access (PA-1 `view`). */
        get: operations["partner_clients"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/partners/{partner}/employees": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The partner's employees, verified ones marked, with the clients each is a user of. */
        get: operations["partner_employees"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/partners/{partner}/employees/{employee}/link": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** LINK-1, LINK-2: link an existing client user who is an employee of the partner. */
        post: operations["link_employee"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/partners/{partner}/employees/{employee}/removal-preview": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** REM-5: preview removing an employee: its clients and owned assets, and a `version`. */
        post: operations["employee_removal_preview"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/partners/{partner}/employees/{employee}/remove": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** REM-1, REM-2, REM-5: remove an employee from chosen clients (409 on a stale version). */
        post: operations["remove_employee"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/policies": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The version of the policy set, and every loaded policy: id, effect, rule ids, source file and
         *     line, description and text.
         */
        get: operations["policies"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/schema/actions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Every declared action with its description, rule ids, principal and resource types. */
        get: operations["actions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/search": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Users, client accounts or partners whose id starts with `q`: the playground's searchable
         *     pickers. A range scan of the store's key order: it costs what it returns.
         */
        get: operations["search"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users/{email}/accounts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Every account where the user may take the action, paged with a cursor: complete, never
         *     silently truncated (a page may hold fewer than `limit` accounts and still have a `next`).
         */
        get: operations["accounts"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** @description One page of accounts. */
        AccountsAnswer: {
            /** @description `{"id", "reasons"}` per account where the action is allowed, in id order. */
            accounts: components["schemas"]["AllowedAccount"][];
            /** @description Pass as `after` for the next page; `null` when every account has been considered. */
            next?: string | null;
            /** @description The policy set that decided. */
            policy_version: string;
            /** Format: int64 */
            revision: number;
        };
        Action: {
            name: string;
        };
        /**
         * @description A declared action, as `GET /v1/schema/actions` lists it (the shape of the policy engine's
         *     `ActionInfo`, which `policy` keeps free of OpenAPI; `tests/service/openapi_shapes.rs`
         *     holds the two together).
         */
        ActionInfo: {
            description: string;
            name: string;
            /** @description Whether it is a permission of the catalogue. */
            permission: boolean;
            principal_types: string[];
            resource_types: string[];
            /** @description The rule ids its `@rules` annotation names. */
            rules: string[];
        };
        /** @description Every action the principal may take on the resource, and every one it may not. */
        ActionsAllowedAnswer: {
            allowed: string[];
            denied: string[];
            /** @description The policy set that decided. */
            policy_version: string;
            /** Format: int64 */
            revision: number;
        };
        /** @description A principal and a resource. */
        ActionsAllowedBody: {
            principal: components["schemas"]["EntityReference"];
            resource: components["schemas"]["EntityReference"];
        };
        ActionsAnswer: {
            actions: components["schemas"]["ActionInfo"][];
        };
        /** @description What an activation did. */
        Activated: components["schemas"]["Activation"] & {
            /** @description False when the version was active already: nothing was written. */
            changed: boolean;
        };
        /** @description One activation: which version became active, who made it so, when. */
        Activation: {
            activated_at: components["schemas"]["Timestamp"];
            activated_by: string;
            previous?: null | components["schemas"]["PolicyVersion"];
            /**
             * Format: int64
             * @description The store revision the activation committed as.
             */
            revision: number;
            version: components["schemas"]["PolicyVersion"];
        };
        /** @description A body that carries only the actor. */
        ActorOnly: {
            actor: components["schemas"]["Email"];
        };
        /** @description The answer: one result per employee named (each once), in the order named. */
        Added: {
            results: components["schemas"]["AddedUser"][];
        };
        /** @description One employee's result. */
        AddedUser: {
            employee: components["schemas"]["Email"];
            outcome: components["schemas"]["AddOutcome"];
            permissions: components["schemas"]["Permission"][];
            seat: components["schemas"]["Seat"];
            withheld: components["schemas"]["Permission"][];
        };
        /**
         * @description What happened to one employee.
         * @enum {string}
         */
        AddOutcome: "added" | "already_member";
        /** @description The body. */
        AddPartnerUsersBody: {
            actor: components["schemas"]["Email"];
            employees: components["schemas"]["Email"][];
            permission_set: components["schemas"]["PermissionSetName"];
        };
        AllowedAccount: {
            id: components["schemas"]["ClientId"];
            /** @description The policies that allowed it. */
            reasons: string[];
        };
        /** @description A command's answer with the store `revision` the command produced. */
        Answered_Added: {
            results: components["schemas"]["AddedUser"][];
        } & {
            /**
             * Format: int64
             * @description The store revision the command produced (for a replay, the first answer's).
             */
            revision: number;
        };
        /** @description A command's answer with the store `revision` the command produced. */
        Answered_Approved: (components["schemas"]["ClientUserRecord"] & {
            client: components["schemas"]["ClientId"];
            outcome: components["schemas"]["ApprovalOutcome"];
        }) & {
            /**
             * Format: int64
             * @description The store revision the command produced (for a replay, the first answer's).
             */
            revision: number;
        };
        /** @description A command's answer with the store `revision` the command produced. */
        Answered_ClientRemovalPreviewed: {
            client: components["schemas"]["ClientId"];
            partner: components["schemas"]["PartnerId"];
            users: components["schemas"]["PartnerUserPreview"][];
            /** @description A digest of `users`: the removal must carry it, and is refused once it changed. */
            version: string;
        } & {
            /**
             * Format: int64
             * @description The store revision the command produced (for a replay, the first answer's).
             */
            revision: number;
        };
        /** @description A command's answer with the store `revision` the command produced. */
        Answered_ClientUserRecord: {
            email: components["schemas"]["Email"];
            /** @description Keep the billing permissions after becoming partner admin (MIG-3). */
            keep_billing: boolean;
            /**
             * @description Paid hub licences held besides the seat (SEAT-9), sorted, no duplicates; `[]` when the
             *     document leaves it out.
             */
            paid_hubs: components["schemas"]["PaidHub"][];
            partner?: null | components["schemas"]["PartnerId"];
            /** @description Stored permissions; a super admin's effective ones are the super admin template. */
            permissions: components["schemas"]["Permission"][];
            role: components["schemas"]["Role"];
            seat: components["schemas"]["Seat"];
            status: components["schemas"]["Status"];
        } & {
            /**
             * Format: int64
             * @description The store revision the command produced (for a replay, the first answer's).
             */
            revision: number;
        };
        /** @description A command's answer with the store `revision` the command produced. */
        Answered_CreatedUser: (components["schemas"]["ClientUserRecord"] & {
            withheld: components["schemas"]["Permission"][];
        }) & {
            /**
             * Format: int64
             * @description The store revision the command produced (for a replay, the first answer's).
             */
            revision: number;
        };
        /** @description A command's answer with the store `revision` the command produced. */
        Answered_EmployeeRemovalPreviewed: {
            clients: components["schemas"]["EmployeeClientPreview"][];
            employee: components["schemas"]["Email"];
            /** @description A digest of `clients`: the removal must carry it, and is refused once it changed. */
            version: string;
        } & {
            /**
             * Format: int64
             * @description The store revision the command produced (for a replay, the first answer's).
             */
            revision: number;
        };
        /** @description A command's answer with the store `revision` the command produced. */
        Answered_IssuedLink: {
            employee: components["schemas"]["Email"];
            partner: components["schemas"]["PartnerId"];
            rotated: boolean;
            /**
             * @description The link's token; absent from an idempotent replay of the answer (`token_withheld`).
             * @example pal_3f5c…
             */
            token?: string;
            /**
             * @description `true` in an idempotent replay of the answer, which has no `token` (it is shown once);
             *     absent otherwise.
             */
            token_withheld?: boolean;
        } & {
            /**
             * Format: int64
             * @description The store revision the command produced (for a replay, the first answer's).
             */
            revision: number;
        };
        /** @description A command's answer with the store `revision` the command produced. */
        Answered_Linked: {
            client: components["schemas"]["ClientId"];
            employee: components["schemas"]["Email"];
            outcome: components["schemas"]["LinkOutcome"];
            partner: components["schemas"]["PartnerId"];
            user: components["schemas"]["ClientUserRecord"];
        } & {
            /**
             * Format: int64
             * @description The store revision the command produced (for a replay, the first answer's).
             */
            revision: number;
        };
        /** @description A command's answer with the store `revision` the command produced. */
        Answered_PermissionsApplied: (components["schemas"]["Clamped"] & {
            role: components["schemas"]["Role"];
            seat?: null | components["schemas"]["Seat"];
        }) & {
            /**
             * Format: int64
             * @description The store revision the command produced (for a replay, the first answer's).
             */
            revision: number;
        };
        /** @description A command's answer with the store `revision` the command produced. */
        Answered_ReactivatedAll: {
            client: components["schemas"]["ClientId"];
            partner: components["schemas"]["PartnerId"];
            reactivated: components["schemas"]["Email"][];
        } & {
            /**
             * Format: int64
             * @description The store revision the command produced (for a replay, the first answer's).
             */
            revision: number;
        };
        /** @description A command's answer with the store `revision` the command produced. */
        Answered_RemovedAll: {
            client: components["schemas"]["ClientId"];
            count: number;
            removed: components["schemas"]["Email"][];
        } & {
            /**
             * Format: int64
             * @description The store revision the command produced (for a replay, the first answer's).
             */
            revision: number;
        };
        /** @description A command's answer with the store `revision` the command produced. */
        Answered_RemovedEmployee: {
            employee: components["schemas"]["Email"];
            removed_from: components["schemas"]["ClientId"][];
        } & {
            /**
             * Format: int64
             * @description The store revision the command produced (for a replay, the first answer's).
             */
            revision: number;
        };
        /** @description A command's answer with the store `revision` the command produced. */
        Answered_RemovedUser: {
            client: components["schemas"]["ClientId"];
            email: components["schemas"]["Email"];
            /** @description Always `removed`. */
            outcome: string;
        } & {
            /**
             * Format: int64
             * @description The store revision the command produced (for a replay, the first answer's).
             */
            revision: number;
        };
        /** @description A command's answer with the store `revision` the command produced. */
        Answered_SeatsAssigned: {
            client: components["schemas"]["ClientId"];
            seat: components["schemas"]["Seat"];
            users: components["schemas"]["Email"][];
        } & {
            /**
             * Format: int64
             * @description The store revision the command produced (for a replay, the first answer's).
             */
            revision: number;
        };
        /** @description A command's answer with the store `revision` the command produced. */
        Answered_StatusChange: {
            client: components["schemas"]["ClientId"];
            email: components["schemas"]["Email"];
            outcome: components["schemas"]["StatusOutcome"];
            status: components["schemas"]["Status"];
        } & {
            /**
             * Format: int64
             * @description The store revision the command produced (for a replay, the first answer's).
             */
            revision: number;
        };
        /**
         * @description Whether the approval created the user or upgraded an existing one.
         * @enum {string}
         */
        ApprovalOutcome: "created" | "upgraded";
        /** @description The body. */
        ApproveAccessLinkBody: {
            actor: components["schemas"]["Email"];
            client: components["schemas"]["ClientId"];
        };
        /** @description The answer: the partner admin's record in the client, the client, and the outcome. */
        Approved: components["schemas"]["ClientUserRecord"] & {
            client: components["schemas"]["ClientId"];
            outcome: components["schemas"]["ApprovalOutcome"];
        };
        /**
         * @description The id of an asset in a client account (`deal-1`).
         * @example deal-1
         */
        AssetId: string;
        /** @description Something a user owns in a client account, listed before the user is removed (REM-1). */
        AssetRecord: {
            id: components["schemas"]["AssetId"];
            kind?: string;
            name?: string;
            owner: components["schemas"]["Email"];
        };
        /** @description `PUT /v1/admin/clients/{id}/assets/{asset}`. */
        AssetUpsert: {
            id?: null | components["schemas"]["AssetId"];
            kind?: string;
            name?: string;
            owner: components["schemas"]["Email"];
        };
        /** @description The body. */
        AssignSeatsBody: {
            actor: components["schemas"]["Email"];
            seat: components["schemas"]["Seat"];
            users: components["schemas"]["Email"][];
        };
        /** @enum {string} */
        AuditOutcome: "applied" | "denied" | "conflict" | "not_found" | "invalid";
        /** @description One audit record: who did what, when, the decision, the deciding ids, the outcome. */
        AuditRecord: {
            /**
             * @description Who acted: the person's e-mail for a command of the Client Access Manager; for a
             *     policy command, the operator as the CLI's `--actor` or the request's `actor` names them;
             *     for an administration write, the channel it came through (`admin-token` over HTTP,
             *     `cli` from the command line).
             */
            actor: string;
            client?: null | components["schemas"]["ClientId"];
            command: components["schemas"]["CommandName"];
            /** @enum {string} */
            decision: "allow" | "deny";
            message?: string | null;
            /** @description `applied`, `denied`, `conflict`, `not_found` or `invalid`. */
            outcome: components["schemas"]["AuditOutcome"];
            /** @description The policy ids that decided (every decision the command asked for). */
            policies: string[];
            policy_version?: null | components["schemas"]["PolicyVersion"];
            /** Format: int64 */
            revision?: number | null;
            /** @description The rule ids named by the deciding policies or by the refusal. */
            rules: string[];
            /**
             * Format: int64
             * @description Its place in the log: the cursor `after=` takes.
             */
            seq: number;
            /** @description What the command was about: `client/c-globex`, `partner/p-acme/employee/...`. */
            target: string;
            time: components["schemas"]["Timestamp"];
        };
        BatchAnswer: {
            /** @description The policy set that decided every answer of the batch. */
            policy_version: string;
            /** @description In request order. */
            results: components["schemas"]["BatchItem"][];
        };
        BatchBody: {
            consistency?: null | components["schemas"]["Consistency"];
            /**
             * @description The policy set the caller expects for every check of the batch (see `CheckBody`); not
             *     given per item.
             */
            policy_version?: string | null;
            /** @description 1 to 1,000 checks. */
            requests: components["schemas"]["CheckBody"][];
        };
        /** @description One answer of a batch: a decision, and for a bad item an `error` (its decision is `Deny`). */
        BatchItem: components["schemas"]["CheckAnswer"] & {
            error?: null | components["schemas"]["ItemError"];
        };
        /** @description How many decisions change, each way. */
        ChangeCounts: {
            /** Format: int64 */
            allow_to_deny: number;
            /** Format: int64 */
            deny_to_allow: number;
        };
        /** @description A decision. */
        CheckAnswer: {
            decision: components["schemas"]["Verdict"];
            /** @description Unique id of this decision, for joining with logs. */
            decision_id: string;
            diagnostics: components["schemas"]["Diagnostics"];
            /**
             * @description The policy set that decided (the SHA-256 of its files). In a batch it is said once,
             *     for every answer.
             */
            policy_version?: string | null;
            /**
             * Format: int64
             * @description The store revision the decision was evaluated at.
             */
            revision: number;
        };
        /**
         * @description One check: entity references in Cedar's JSON form (`{"type": "Hub::User", "id": "..."}`) or
         *     string form (`Hub::User::"..."`); the action by name or reference.
         */
        CheckBody: {
            action: components["schemas"]["EntityReference"];
            consistency?: null | components["schemas"]["Consistency"];
            /** @description Extra facts for the policies; entity references in it are looked up too. */
            context?: {
                [key: string]: unknown;
            } | null;
            /**
             * @description The policy set the caller expects to decide (a `policy_version` of an earlier answer,
             *     or of `GET /v1/policies`): a sidecar on another set answers 409 and decides nothing.
             * @example 3f1c0e9a…
             */
            policy_version?: string | null;
            principal: components["schemas"]["EntityReference"];
            resource: components["schemas"]["EntityReference"];
        };
        /** @description The outcome of [`Ctx::grant_clamp`]. */
        Clamped: {
            kept: components["schemas"]["Permission"][];
            permissions: components["schemas"]["Permission"][];
            withheld: components["schemas"]["Permission"][];
        };
        /**
         * @description The id of a client account (`c-globex`).
         * @example c-globex
         */
        ClientId: string;
        /** @description A client account with its users and assets. */
        ClientRecord: {
            assets?: components["schemas"]["AssetRecord"][];
            id: components["schemas"]["ClientId"];
            managed_by?: null | components["schemas"]["PartnerId"];
            official_name?: string;
            /** @description The client's own permission sets, usable from inside the client account. */
            permission_sets?: components["schemas"]["PermissionSetRecord"][];
            pricing_model: components["schemas"]["PricingModel"];
            relationship?: null | components["schemas"]["RelationshipHistory"];
            users?: components["schemas"]["ClientUserRecord"][];
        };
        /** @description The preview's answer. */
        ClientRemovalPreviewed: {
            client: components["schemas"]["ClientId"];
            partner: components["schemas"]["PartnerId"];
            users: components["schemas"]["PartnerUserPreview"][];
            /** @description A digest of `users`: the removal must carry it, and is refused once it changed. */
            version: string;
        };
        /**
         * @description `PUT /v1/admin/clients/{id}`: a client's fields; `users` and `assets`, when given, replace
         *     them.
         */
        ClientUpsert: {
            assets?: components["schemas"]["AssetRecord"][] | null;
            id?: null | components["schemas"]["ClientId"];
            managed_by?: null | components["schemas"]["PartnerId"];
            official_name?: string;
            permission_sets?: components["schemas"]["PermissionSetRecord"][];
            pricing_model: components["schemas"]["PricingModel"];
            /**
             * @description The relationship as the export writes it: accepted so that an exported client can be
             *     sent back as it is, and ignored: the relationship is the sidecar's to keep (REL).
             */
            relationship?: {
                [key: string]: unknown;
            } | null;
            users?: components["schemas"]["ClientUserRecord"][] | null;
        };
        /**
         * @description A user of one client account.
         *
         *     Its OpenAPI schema is the record as the sidecar writes it in answers: every member present
         *     but `partner`, which only a partner user has (a state document may leave out the members
         *     with defaults).
         */
        ClientUserRecord: {
            email: components["schemas"]["Email"];
            /** @description Keep the billing permissions after becoming partner admin (MIG-3). */
            keep_billing: boolean;
            /**
             * @description Paid hub licences held besides the seat (SEAT-9), sorted, no duplicates; `[]` when the
             *     document leaves it out.
             */
            paid_hubs: components["schemas"]["PaidHub"][];
            partner?: null | components["schemas"]["PartnerId"];
            /** @description Stored permissions; a super admin's effective ones are the super admin template. */
            permissions: components["schemas"]["Permission"][];
            role: components["schemas"]["Role"];
            seat: components["schemas"]["Seat"];
            status: components["schemas"]["Status"];
        };
        /** @description `GET /v1/clients/{client}/users`: the users of a client account. */
        ClientUsers: {
            client: components["schemas"]["ClientId"];
            /** @description The managing partner's CRM name for the client, if any (ADD-4). */
            crm_name: string | null;
            official_name: string;
            users: components["schemas"]["ClientUserRecord"][];
        };
        /** @enum {string} */
        CommandName: "access_link.issue" | "access_link.approve" | "employee.link" | "employee.removal_preview" | "employee.remove" | "partner_admin.migrate" | "partner_users.add" | "partner_user.set_permission_set" | "partner_user.grant_permission" | "partner_user.revoke_permission" | "partner_user.deactivate" | "partner_user.reactivate" | "partner_users.reactivate_all" | "partner_users.removal_preview" | "partner_users.remove_all" | "user.create" | "user.set_seat" | "user.set_permission_set" | "user.grant_permission" | "user.revoke_permission" | "user.set_paid_hubs" | "user.assign_seats" | "user.remove" | "policies.push" | "policies.activate" | "admin.import" | "admin.upsert_partner" | "admin.upsert_employee" | "admin.upsert_client" | "admin.upsert_user" | "admin.upsert_asset";
        /**
         * @description How fresh the state behind a decision must be: exactly one of the three. (Describes the
         *     wire; [`ConsistencyBody`] reads it and names a body with none or several.)
         */
        Consistency: {
            /** @example true */
            minimize_latency: boolean;
        } | {
            /**
             * Format: int64
             * @example 42
             */
            at_least_as_fresh: number;
        } | {
            /** @example true */
            fully_consistent: boolean;
        };
        /** @description The answer: the user's record, and what of the set the actor could not give (PERM-2). */
        CreatedUser: components["schemas"]["ClientUserRecord"] & {
            withheld: components["schemas"]["Permission"][];
        };
        /** @description The body. */
        CreateUserBody: {
            actor: components["schemas"]["Email"];
            email: components["schemas"]["Email"];
            /** @description Paid hub licences besides the seat (SEAT-9); giving any needs SEAT-8's rights. */
            paid_hubs?: components["schemas"]["PaidHub"][];
            permission_set: components["schemas"]["PermissionSetName"];
            seat: components["schemas"]["Seat"];
        };
        /**
         * @description The policies that determined a decision, and their rule ids. Empty for a Deny no policy
         *     made (no permit applied).
         */
        Determining: {
            /** @description The `@id`s of the determining policies, sorted. */
            policies: string[];
            /** @description The rule ids of their `@rules` annotations, sorted, each once. */
            rules: string[];
        };
        Diagnostics: {
            /** @description Unknown entities, policies that failed to evaluate, a store that could not be read. */
            errors: string[];
            /** @description The ids of the policies that determined the decision. */
            reasons: string[];
        };
        /**
         * @description Which way a decision changes.
         * @enum {string}
         */
        Direction: "allow_to_deny" | "deny_to_allow";
        /**
         * @description An e-mail address, its ASCII letters lower-case.
         * @example ann@acme.example
         */
        Email: string;
        /** @description One client of the preview. */
        EmployeeClientPreview: {
            assets: components["schemas"]["OwnedAsset"][];
            client: components["schemas"]["ClientId"];
            /** @description The partner's own name for the client, if it has one. */
            crm_name: string | null;
            official_name: string;
            role: components["schemas"]["Role"];
            status: components["schemas"]["Status"];
        };
        /**
         * @description A partner employee's "partner employee management" permission (PA-1).
         * @enum {string}
         */
        EmployeeManagement: "none" | "view" | "view_edit";
        /** @description An employee of a partner account and its partner-side rights. */
        EmployeeRecord: {
            email: components["schemas"]["Email"];
            employee_management?: components["schemas"]["EmployeeManagement"];
            /** @description Super admin of the partner account. */
            super_admin?: boolean;
        };
        /** @description The preview's answer. */
        EmployeeRemovalPreviewed: {
            clients: components["schemas"]["EmployeeClientPreview"][];
            employee: components["schemas"]["Email"];
            /** @description A digest of `clients`: the removal must carry it, and is refused once it changed. */
            version: string;
        };
        /** @description `PUT /v1/admin/partners/{id}/employees/{email}`. */
        EmployeeUpsert: {
            email?: null | components["schemas"]["Email"];
            employee_management?: components["schemas"]["EmployeeManagement"];
            super_admin?: boolean;
        };
        /** @description A span during which no partner user of the period's partner was in the account. */
        EndingSpan: {
            /**
             * @description Activity recorded while the span lasted, oldest first (the newest
             *     [`MAX_SPAN_ACTIVITY`]).
             */
            activity?: components["schemas"]["Timestamp"][];
            /** @description The last activity recorded when the span opened. */
            activity_before: components["schemas"]["Timestamp"];
            /** @description When the last partner user of the partner left. */
            since: components["schemas"]["Timestamp"];
            until?: null | components["schemas"]["Timestamp"];
        };
        /**
         * @description An entity reference: Cedar's JSON form, `{"type": "Hub::User", "id": "ann@acme.example"}`, or
         *     its string form, `Hub::User::"ann@acme.example"`; an action may also be named alone
         *     (`"reports.access"`). Only describes the wire (the body is read as JSON and each reference
         *     parsed where it is used, so that a bad one is named).
         */
        EntityReference: string | components["schemas"]["EntityUid"] | {
            __entity: components["schemas"]["EntityUid"];
        };
        /** @description An entity's type and id; no other member. */
        EntityUid: {
            id: string;
            /** @description The entity type, `Hub::User`, `Hub::Account`, `Hub::Partner` or `Hub::Action`. */
            type: string;
        };
        /** @description The body of every error answer. */
        ErrorBody: {
            error: components["schemas"]["ErrorDetail"];
        };
        ErrorDetail: {
            /**
             * @description `invalid_request`, `unauthenticated`, `forbidden`, `not_found`, `conflict`,
             *     `payload_too_large` or `unavailable`.
             */
            code: string;
            /** @description Every problem found, for state documents and policy sets. */
            details?: {
                [key: string]: unknown;
            }[];
            message: string;
            /** @description The rule or policy ids that decided, when a rule did. */
            rules?: string[];
        };
        /** @description One item of an evaluations request: each field, when present, overrides the defaults. */
        EvaluationItem: {
            action?: null | components["schemas"]["Action"];
            context?: {
                [key: string]: unknown;
            } | null;
            resource?: null | components["schemas"]["Resource"];
            subject?: null | components["schemas"]["Subject"];
        };
        /** @description An AuthZEN access evaluation request. */
        EvaluationRequest: {
            action: components["schemas"]["Action"];
            context?: {
                [key: string]: unknown;
            } | null;
            resource: components["schemas"]["Resource"];
            subject: components["schemas"]["Subject"];
        };
        /** @description An AuthZEN access evaluation answer. */
        EvaluationResponse: {
            /**
             * @description `id` (the decision id), `reasons`, `errors`, `revision`, `policy_version` and
             *     `reason_admin`.
             */
            context: {
                [key: string]: unknown;
            };
            decision: boolean;
        };
        /** @description An AuthZEN access evaluations (boxcar) request. */
        EvaluationsRequest: {
            action?: null | components["schemas"]["Action"];
            context?: {
                [key: string]: unknown;
            } | null;
            evaluations?: components["schemas"]["EvaluationItem"][] | null;
            /**
             * @description `evaluations_semantic`: `execute_all` (default), `deny_on_first_deny` or
             *     `permit_on_first_permit`.
             */
            options?: {
                [key: string]: unknown;
            } | null;
            resource?: null | components["schemas"]["Resource"];
            subject?: null | components["schemas"]["Subject"];
        };
        EvaluationsResponse: {
            evaluations: components["schemas"]["EvaluationResponse"][];
        };
        /** @description One outbox event. */
        Event: {
            client?: null | components["schemas"]["ClientId"];
            /** @description What happened, by kind: the client, the user's e-mail, and what changed. */
            data: {
                [key: string]: unknown;
            };
            /**
             * Format: int64
             * @description Its place in the outbox: the cursor `after=` takes.
             */
            seq: number;
            time: components["schemas"]["Timestamp"];
            /** @description `access_link.approved`, `user.created`, `user.removed`, ... */
            type: components["schemas"]["EventKind"];
        };
        /** @enum {string} */
        EventKind: "access_link.approved" | "paid_hubs.changed" | "permissions.changed" | "relationship.ending" | "seat.changed" | "user.created" | "user.deactivated" | "user.linked" | "user.reactivated" | "user.removed";
        /** @description A decision with its explanation. */
        ExplainAnswer: {
            /**
             * @description For a Deny: every permit of the action, whether the request is in its scope, and each
             *     condition with its value (`true`, `false`, `error`).
             */
            candidates: {
                [key: string]: unknown;
            }[];
            /** @description `Allow` or `Deny`, exactly as `POST /v1/is_authorized` answers. */
            decision: components["schemas"]["Verdict"];
            /** @description The policies that determined the decision: id, effect, rules, file, line, text. */
            determining: components["schemas"]["PolicyInfo"][];
            diagnostics: components["schemas"]["Diagnostics"];
            /** @description What the store says about the principal and the resource. */
            facts: string[];
            /** @description The policy set that decided. */
            policy_version: string;
            /** Format: int64 */
            revision: number;
            /**
             * @description The verdict and what decided it, in one sentence.
             * @example Denied: ann@acme.example may not `scim.provision` in c-globex, forbidden by `partner-admin-never-scim-or-migration` (CAP-5): ...
             */
            summary: string;
        };
        /** @description One match: its id and a few words on what it is. */
        FoundItem: {
            id: string;
            label: string;
        };
        Health: {
            /** @example ok */
            status: string;
        };
        /** @description `POST /v1/admin/policies/impact`: which stored versions to compare. */
        ImpactBody: {
            /** @description How many examples each group shows [default: 5, at most 1000]. */
            examples?: number | null;
            /**
             * @description The version before: its hash or a unique prefix of 8 hex digits or more [default: the
             *     active version].
             */
            from?: string | null;
            /** @description The version after. */
            to: string;
        };
        /** @description One changed decision, as an example of its group. */
        ImpactExample: {
            /** @description The client account. */
            account: string;
            /** @description The user's role in that account. */
            role: string;
            /** @description The user's e-mail. */
            user: string;
        };
        /**
         * @description The decisions of one action that change the same way, decided by the same policies before
         *     and after.
         */
        ImpactGroup: {
            action: string;
            /** @description What decides under the `to` set. */
            after: components["schemas"]["Determining"];
            /** @description What decided under the `from` set. */
            before: components["schemas"]["Determining"];
            /** @description How many decisions, by the user's role in the account. */
            by_role: {
                [key: string]: number;
            };
            /**
             * Format: int64
             * @description How many decisions.
             */
            count: number;
            direction: components["schemas"]["Direction"];
            /** @description The first of them, in the state's order (clients, then their users). */
            examples: components["schemas"]["ImpactExample"][];
        };
        /** @description What a policy change does to the decisions of a state. */
        ImpactReport: {
            /** @description The check actions analysed (declared by either set). */
            actions: string[];
            /** @description By action (actions with a change only). */
            by_action: {
                [key: string]: components["schemas"]["ChangeCounts"];
            };
            /** @description By the user's role in the account (roles with a change only). */
            by_role: {
                [key: string]: components["schemas"]["ChangeCounts"];
            };
            /**
             * Format: int64
             * @description The distinct cases decided under each set (see the module doc).
             */
            cases: number;
            /** @description The decisions that change. */
            changed: components["schemas"]["ChangeCounts"];
            /**
             * Format: int64
             * @description The decisions compared: memberships × actions.
             */
            decisions: number;
            /** @description The set in force before. */
            from: components["schemas"]["PolicyVersion"];
            /** @description Sorted by action, direction, policies before, policies after. */
            groups: components["schemas"]["ImpactGroup"][];
            /**
             * Format: int64
             * @description The (client user, client account) memberships of the state.
             */
            memberships: number;
            /** @description What was not analysed, or how. */
            notes: string[];
            /** @description The set after. */
            to: components["schemas"]["PolicyVersion"];
        };
        /** @description The body. */
        IssueAccessLinkBody: {
            actor: components["schemas"]["Email"];
            employee?: null | components["schemas"]["Email"];
            /** @description Revoke every earlier link of the employee. */
            rotate?: boolean;
        };
        /** @description The answer: the token, shown this once. */
        IssuedLink: {
            employee: components["schemas"]["Email"];
            partner: components["schemas"]["PartnerId"];
            rotated: boolean;
            /**
             * @description The link's token; absent from an idempotent replay of the answer (`token_withheld`).
             * @example pal_3f5c…
             */
            token?: string;
            /**
             * @description `true` in an idempotent replay of the answer, which has no `token` (it is shown once);
             *     absent otherwise.
             */
            token_withheld?: boolean;
        };
        ItemError: {
            code: string;
            message: string;
        };
        /** @description The answer. */
        Linked: {
            client: components["schemas"]["ClientId"];
            employee: components["schemas"]["Email"];
            outcome: components["schemas"]["LinkOutcome"];
            partner: components["schemas"]["PartnerId"];
            user: components["schemas"]["ClientUserRecord"];
        };
        /** @description The body. */
        LinkEmployeeBody: {
            actor: components["schemas"]["Email"];
            client: components["schemas"]["ClientId"];
        };
        /**
         * @description Whether the user was linked now or already was.
         * @enum {string}
         */
        LinkOutcome: "linked" | "already_linked";
        /** @description The body. */
        MigrateToPartnerAdminBody: {
            actor: components["schemas"]["Email"];
            keep_billing?: boolean;
            user: components["schemas"]["Email"];
        };
        /** @description An asset a user owns in a client, as a removal preview lists it for review (REM-1). */
        OwnedAsset: {
            id: components["schemas"]["AssetId"];
            kind: string;
            name: string;
        };
        /** @description A page of a log. */
        Page_AuditRecord: {
            /**
             * Format: int64
             * @description The cursor for the next page (`after=`), or none at the end.
             */
            next: number | null;
            records: {
                /**
                 * @description Who acted: the person's e-mail for a command of the Client Access Manager; for a
                 *     policy command, the operator as the CLI's `--actor` or the request's `actor` names them;
                 *     for an administration write, the channel it came through (`admin-token` over HTTP,
                 *     `cli` from the command line).
                 */
                actor: string;
                client?: null | components["schemas"]["ClientId"];
                command: components["schemas"]["CommandName"];
                /** @enum {string} */
                decision: "allow" | "deny";
                message?: string | null;
                /** @description `applied`, `denied`, `conflict`, `not_found` or `invalid`. */
                outcome: components["schemas"]["AuditOutcome"];
                /** @description The policy ids that decided (every decision the command asked for). */
                policies: string[];
                policy_version?: null | components["schemas"]["PolicyVersion"];
                /** Format: int64 */
                revision?: number | null;
                /** @description The rule ids named by the deciding policies or by the refusal. */
                rules: string[];
                /**
                 * Format: int64
                 * @description Its place in the log: the cursor `after=` takes.
                 */
                seq: number;
                /** @description What the command was about: `client/c-globex`, `partner/p-acme/employee/...`. */
                target: string;
                time: components["schemas"]["Timestamp"];
            }[];
        };
        /** @description A page of a log. */
        Page_Event: {
            /**
             * Format: int64
             * @description The cursor for the next page (`after=`), or none at the end.
             */
            next: number | null;
            records: {
                client?: null | components["schemas"]["ClientId"];
                /** @description What happened, by kind: the client, the user's e-mail, and what changed. */
                data: {
                    [key: string]: unknown;
                };
                /**
                 * Format: int64
                 * @description Its place in the outbox: the cursor `after=` takes.
                 */
                seq: number;
                time: components["schemas"]["Timestamp"];
                /** @description `access_link.approved`, `user.created`, `user.removed`, ... */
                type: components["schemas"]["EventKind"];
            }[];
        };
        /**
         * @description A paid hub licence a client user holds besides its seat (SEAT-9): on `legacy` pricing
         *     the partner seat does not give the paid features of a hub, the licence does.
         * @enum {string}
         */
        PaidHub: "sales" | "service";
        /** @description One client of the partner's list. */
        PartnerClient: {
            /** @description The partner's own name for the client, if it has one (ADD-4). */
            crm_name: string | null;
            id: components["schemas"]["ClientId"];
            official_name: string;
            /** @description The state of the client's managed relationship now. */
            relationship: components["schemas"]["RelationshipState"];
            users: components["schemas"]["UserCounts"];
        };
        /** @description `GET /v1/partners/{partner}/clients`: the clients the partner's employees can access. */
        PartnerClients: {
            clients: components["schemas"]["PartnerClient"][];
            partner: components["schemas"]["PartnerId"];
        };
        /** @description One employee of the partner, with the clients it is a user of. */
        PartnerEmployee: {
            clients: components["schemas"]["ClientId"][];
            email: components["schemas"]["Email"];
            employee_management: components["schemas"]["EmployeeManagement"];
            super_admin: boolean;
            /** @description Its address is in one of the partner's approved e-mail domains (ADD-5). */
            verified: boolean;
        };
        /** @description `GET /v1/partners/{partner}/employees`: the partner's employees. */
        PartnerEmployees: {
            employees: components["schemas"]["PartnerEmployee"][];
            partner: components["schemas"]["PartnerId"];
        };
        /**
         * @description The id of a partner account (`p-acme`).
         * @example p-acme
         */
        PartnerId: string;
        /** @description A partner account with its employees. */
        PartnerRecord: {
            /** @description The names the partner's CRM gives its clients (ADD-4). */
            crm_names?: {
                [key: string]: string;
            };
            /** @description Approved partner e-mail domains; an employee with an address in one is "verified". */
            email_domains?: string[];
            employees?: components["schemas"]["EmployeeRecord"][];
            id: components["schemas"]["PartnerId"];
            name?: string;
            /** @description The partner's own permission sets, usable from the Client Access Manager. */
            permission_sets?: components["schemas"]["PermissionSetRecord"][];
            tier: components["schemas"]["Tier"];
        };
        /** @description `PUT /v1/admin/partners/{id}`: a partner's fields; `employees`, when given, replaces them. */
        PartnerUpsert: {
            crm_names?: {
                [key: string]: string;
            };
            email_domains?: string[];
            employees?: components["schemas"]["EmployeeRecord"][] | null;
            id?: null | components["schemas"]["PartnerId"];
            name?: string;
            permission_sets?: components["schemas"]["PermissionSetRecord"][];
            tier: components["schemas"]["Tier"];
        };
        /** @description One partner user of the preview. */
        PartnerUserPreview: {
            assets: components["schemas"]["OwnedAsset"][];
            email: components["schemas"]["Email"];
            role: components["schemas"]["Role"];
            status: components["schemas"]["Status"];
        };
        /**
         * @description The name of a permission (`reports.access`). Whether it is in the catalogue is checked
         *     against a [`Catalogue`], which only the loaded schema knows.
         * @example crm.objects.edit
         */
        Permission: string;
        /**
         * @description The answer of a command that changes a user's permissions: what the user holds now, what
         *     was asked for but withheld and what could not be taken away (PERM-2), its role, and (from
         *     the Client Access Manager) its seat.
         */
        PermissionsApplied: components["schemas"]["Clamped"] & {
            role: components["schemas"]["Role"];
            seat?: null | components["schemas"]["Seat"];
        };
        /**
         * @description The name of a permission set (`partner_admin`, `Sales rep`).
         * @example partner_admin
         */
        PermissionSetName: string;
        /** @description A named set of permissions. */
        PermissionSetRecord: {
            name: components["schemas"]["PermissionSetName"];
            permissions?: components["schemas"]["Permission"][];
        };
        PoliciesAnswer: {
            policies: components["schemas"]["PolicyInfo"][];
            /**
             * @description The version of the set: the SHA-256 of its schema and policy files, as every decision
             *     answer's `policy_version` says it.
             */
            version: string;
        };
        /** @description One file of a policy set. */
        PolicyFile: {
            kind: components["schemas"]["PolicyFileKind"];
            /** @description Its file name (no directory): `hub.cedarschema`, `partner.cedar`. */
            name: string;
            text: string;
        };
        /**
         * @description What a file of a policy set is.
         * @enum {string}
         */
        PolicyFileKind: "schema" | "policy";
        /**
         * @description The store's policy versions (oldest push first), the active one, and every activation
         *     (oldest first).
         */
        PolicyHistory: {
            activations: components["schemas"]["Activation"][];
            active?: null | components["schemas"]["Activation"];
            versions: components["schemas"]["PolicyVersionSummary"][];
        };
        /**
         * @description A policy, as `GET /v1/policies` lists it and an explanation names it (the shape of the
         *     policy engine's `PolicyInfo`).
         */
        PolicyInfo: {
            description: string;
            /** @description `permit` or `forbid`. */
            effect: string;
            file: string;
            /** @description Its `@id`. */
            id: string;
            line: number;
            /** @description The rule ids its `@rules` annotation names. */
            rules: string[];
            text: string;
        };
        /**
         * @description The SHA-256 of a policy set, 64 lower-case hex digits (computed by the policy engine as it
         *     loads the set; see `policy::PolicyEngine::version`). Cheap to clone.
         */
        PolicyVersion: string;
        /** @description A stored version as the history lists it (without its files). */
        PolicyVersionSummary: {
            /** @description Whether it is the store's active version. */
            active: boolean;
            policies: number;
            pushed_at: components["schemas"]["Timestamp"];
            pushed_by: string;
            tests: components["schemas"]["TestsRun"];
            version: components["schemas"]["PolicyVersion"];
        };
        /**
         * @description How a client account pays for seats (SEAT-9).
         * @enum {string}
         */
        PricingModel: "seat_based" | "legacy";
        /** @description What `PUT /v1/admin/policies` did. */
        PushAnswer: components["schemas"]["Pushed"] & {
            activated?: null | components["schemas"]["Activated"];
        };
        /**
         * @description `PUT /v1/admin/policies`: a policy set, the tests to run against it, and whether to
         *     activate it.
         */
        PushBody: {
            /**
             * @description Activate the version once stored (refused, before anything is stored, on a sidecar
             *     serving its policy directory).
             */
            activate?: boolean;
            /** @description Who pushes, for the history and the audit log [default: `admin-token`]. */
            actor?: string | null;
            /**
             * @description The files, by file name: `.cedarschema` files are the schema, `.cedar` files the
             *     policies (at least one of each, plain names).
             */
            files: {
                [key: string]: string;
            };
            /**
             * @description Declarative policy test files, by name: each one's JSON contents (as
             *     `partner-access test` reads them, with the state inline). A failing case refuses the
             *     push.
             */
            tests?: {
                [key: string]: unknown;
            };
        };
        /** @description What a push did. */
        Pushed: {
            /**
             * @description False when the same files were stored already: nothing was written, and the answer
             *     is the version as it was first pushed.
             */
            created: boolean;
            policies: number;
            pushed_at: components["schemas"]["Timestamp"];
            pushed_by: string;
            /**
             * Format: int64
             * @description The store revision the push committed as (absent when nothing was written).
             */
            revision?: number | null;
            tests: components["schemas"]["TestsRun"];
            version: components["schemas"]["PolicyVersion"];
        };
        /** @description The answer. */
        ReactivatedAll: {
            client: components["schemas"]["ClientId"];
            partner: components["schemas"]["PartnerId"];
            reactivated: components["schemas"]["Email"][];
        };
        ReadyAnswer: {
            /** @description Policies are loaded. */
            policies: boolean;
            /** @description Why the store does not take writes, when it does not. */
            problem?: string | null;
            ready: boolean;
            /** @description The store can be read. */
            store: boolean;
            /**
             * @description The store takes writes: its file is not known damaged, is still the file the sidecar
             *     opened, and its last write reached the disk.
             */
            writable: boolean;
        };
        /** @description The managed relationship of a client at an instant (REL-5). */
        RelationshipAnswer: {
            /** @description The instant asked about (`at=`, default now). */
            at: components["schemas"]["Timestamp"];
            client: components["schemas"]["ClientId"];
            ends_at: null | components["schemas"]["Timestamp"];
            last_activity_at: null | components["schemas"]["Timestamp"];
            partner: null | components["schemas"]["PartnerId"];
            started_at: null | components["schemas"]["Timestamp"];
            /** @description `active`, `ending`, `ended` or `none`. */
            state: components["schemas"]["RelationshipState"];
        };
        /**
         * @description Every managed relationship a client has had, oldest first (REL-4, REL-5).
         *
         *     Stored as JSON in the relationships side table and carried by the state document as
         *     `{"periods": [...]}`. The first edition kept one record per client,
         *     `{"partner", "started_at", "last_activity_at"}`; such a record still reads, as one period
         *     (whose ending span, when its partner users are gone, [`RelationshipHistory::reconcile`]
         *     supplies).
         */
        RelationshipHistory: {
            periods: components["schemas"]["RelationshipPeriod"][];
        };
        /** @description Every managed relationship of a client, oldest first. */
        RelationshipHistoryAnswer: {
            client: components["schemas"]["ClientId"];
            relationships: components["schemas"]["RelationshipPeriodAnswer"][];
        };
        /** @description One relationship of a client with a partner. */
        RelationshipPeriod: {
            ended_at?: null | components["schemas"]["Timestamp"];
            /**
             * @description The spans during which no partner user of the partner was in the account, oldest first;
             *     only the last may still be open.
             */
            ending_spans?: components["schemas"]["EndingSpan"][];
            /**
             * @description The last qualifying partner activity recorded (REL-3): a command by one of the partner's
             *     employees in the account, or an Allow for one of its partner users there.
             */
            last_activity_at: components["schemas"]["Timestamp"];
            partner: components["schemas"]["PartnerId"];
            started_at: components["schemas"]["Timestamp"];
        };
        /** @description One relationship of a client's history. */
        RelationshipPeriodAnswer: {
            ended_at: null | components["schemas"]["Timestamp"];
            ending_since: null | components["schemas"]["Timestamp"];
            last_activity_at: null | components["schemas"]["Timestamp"];
            partner: components["schemas"]["PartnerId"];
            started_at: null | components["schemas"]["Timestamp"];
            /** @description Its state now: `active`, `ending` or `ended`. */
            state: components["schemas"]["RelationshipState"];
        };
        /**
         * @description The state of a relationship at an instant.
         * @enum {string}
         */
        RelationshipState: "active" | "ending" | "ended" | "none";
        ReloadAnswer: {
            /** @description How many policies are now loaded. */
            policies: number;
        };
        /** @description The removal's body. */
        RemoveAllBody: {
            actor: components["schemas"]["Email"];
            version: string;
        };
        /** @description The removal's answer. */
        RemovedAll: {
            client: components["schemas"]["ClientId"];
            count: number;
            removed: components["schemas"]["Email"][];
        };
        /** @description The removal's answer. */
        RemovedEmployee: {
            employee: components["schemas"]["Email"];
            removed_from: components["schemas"]["ClientId"][];
        };
        /** @description The answer. */
        RemovedUser: {
            client: components["schemas"]["ClientId"];
            email: components["schemas"]["Email"];
            /** @description Always `removed`. */
            outcome: string;
        };
        /** @description The removal's body. */
        RemoveEmployeeBody: {
            actor: components["schemas"]["Email"];
            clients: components["schemas"]["ClientId"][];
            version: string;
        };
        Resource: {
            id: string;
            type: string;
        };
        /**
         * @description A client user's role in one client account.
         * @enum {string}
         */
        Role: "super_admin" | "partner_admin" | "standard";
        /** @description Ids that start with the query. */
        SearchAnswer: {
            /** @example user */
            kind: string;
            /** @description `{"id", "label"}` per match, in id order. */
            matches: components["schemas"]["FoundItem"][];
            /** @description More ids start with the query than were returned. */
            more: boolean;
            /** Format: int64 */
            revision: number;
        };
        /**
         * @description A client user's seat in one client account.
         * @enum {string}
         */
        Seat: "partner" | "core" | "view_only" | "sales_paid" | "service_paid" | "none";
        /** @description The answer: the users as named. */
        SeatsAssigned: {
            client: components["schemas"]["ClientId"];
            seat: components["schemas"]["Seat"];
            users: components["schemas"]["Email"][];
        };
        /** @description The body. */
        SetClientPermissionSetBody: {
            actor: components["schemas"]["Email"];
            permission_set: components["schemas"]["PermissionSetName"];
        };
        /** @description The body. */
        SetPaidHubsBody: {
            actor: components["schemas"]["Email"];
            paid_hubs: components["schemas"]["PaidHub"][];
        };
        /** @description The body. */
        SetPartnerPermissionSetBody: {
            actor: components["schemas"]["Email"];
            permission_set: components["schemas"]["PermissionSetName"];
        };
        /** @description The body. */
        SetSeatBody: {
            actor: components["schemas"]["Email"];
            seat: components["schemas"]["Seat"];
        };
        /** @description The whole state: partner accounts and client accounts. */
        StateDocument: {
            clients?: components["schemas"]["ClientRecord"][];
            partners?: components["schemas"]["PartnerRecord"][];
        };
        /**
         * @description Whether a client user can act in the account (CAP-7).
         * @enum {string}
         */
        Status: "active" | "deactivated";
        /** @description The answer. */
        StatusChange: {
            client: components["schemas"]["ClientId"];
            email: components["schemas"]["Email"];
            outcome: components["schemas"]["StatusOutcome"];
            status: components["schemas"]["Status"];
        };
        /**
         * @description Whether the status changed or already was the one asked for.
         * @enum {string}
         */
        StatusOutcome: "changed" | "unchanged";
        /** @description A stored policy set: immutable once pushed. */
        StoredPolicySet: {
            /** @description Schema files first, then policy files, each sorted by name. */
            files: components["schemas"]["PolicyFile"][];
            /** @description How many policies it holds. */
            policies: number;
            pushed_at: components["schemas"]["Timestamp"];
            pushed_by: string;
            tests: components["schemas"]["TestsRun"];
            version: components["schemas"]["PolicyVersion"];
        };
        Subject: {
            id: string;
            type: string;
        };
        /** @description The declarative policy tests a version passed when it was pushed. */
        TestsRun: {
            /** @description The test files, by name. */
            files: string[];
            /** @description How many cases passed (all of them: a failing case refuses the push). */
            passed: number;
        };
        /**
         * @description A partner account's tier. Only solutions partners and providers get partner admins and
         *     partner seats (PA-2, SEAT-2).
         * @enum {string}
         */
        Tier: "solutions_partner" | "provider" | "other";
        /**
         * Format: date-time
         * @description An instant, written as RFC 3339 in UTC (`2026-11-22T18:50:00Z`).
         * @example 2026-11-22T18:50:00Z
         */
        Timestamp: string;
        /** @description How many users a client has, by role, and how many of them are the partner's. */
        UserCounts: {
            /** @description The users linked to the partner that are deactivated. */
            deactivated_partner_users: number;
            partner_admin: number;
            /** @description The users linked to the partner, whatever their role and status. */
            partner_users: number;
            standard: number;
            super_admin: number;
        };
        /** @description `PUT /v1/admin/clients/{id}/users/{email}`. */
        UserUpsert: {
            email?: null | components["schemas"]["Email"];
            keep_billing?: boolean;
            paid_hubs?: components["schemas"]["PaidHub"][];
            partner?: null | components["schemas"]["PartnerId"];
            permissions?: components["schemas"]["Permission"][];
            role: components["schemas"]["Role"];
            seat: components["schemas"]["Seat"];
            status?: components["schemas"]["Status"];
        };
        /**
         * @description Whether the policies allow a request.
         * @enum {string}
         */
        Verdict: "Allow" | "Deny";
        /** @description The answer to every write: the store revision it produced. */
        WriteAnswer: {
            /** Format: int64 */
            revision: number;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    evaluation: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["EvaluationRequest"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EvaluationResponse"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    evaluations: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["EvaluationsRequest"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EvaluationsResponse"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    healthz: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
        };
    };
    metrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Prometheus text format */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": unknown;
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    openapi: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OpenAPI 3.1 document */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        [key: string]: unknown;
                    };
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    readyz: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReadyAnswer"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReadyAnswer"];
                };
            };
        };
    };
    index: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The page */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    index_slash: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The page */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    style: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The style sheet */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/css": string;
                };
            };
        };
    };
    script: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The script */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/javascript": string;
                };
            };
        };
    };
    approve_access_link: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                token: string;
            };
            cookie?: never;
        };
        /** @description actor, client (PA-2, PA-4, PA-5) */
        requestBody: {
            content: {
                "application/json": components["schemas"]["ApproveAccessLinkBody"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_Approved"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_Approved"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    actions_allowed: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ActionsAllowedBody"];
            };
        };
        responses: {
            /** @description Allowed and denied actions */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ActionsAllowedAnswer"];
                };
            };
            /** @description Malformed principal or resource */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The store cannot be read */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    backup: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The redb store file; header `x-revision` gives its revision */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/octet-stream": unknown;
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    put_client: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description client id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ClientUpsert"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WriteAnswer"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    put_asset: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                asset: string;
                /** @description client id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AssetUpsert"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WriteAnswer"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    put_user: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                email: string;
                /** @description client id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserUpsert"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WriteAnswer"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    export: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The state document; header `x-revision` gives its revision */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StateDocument"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    import: {
        parameters: {
            query?: {
                /**
                 * @description `replace` (the document becomes the whole state), `merge` (partners and clients in the
                 *     document replace those with the same id) or `empty` (as `replace`, only into a store
                 *     that holds no partner and no client: 409 otherwise). Default `replace`.
                 */
                mode?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description A state document (see the README) */
        requestBody: {
            content: {
                "application/json": components["schemas"]["StateDocument"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WriteAnswer"];
                };
            };
            /** @description Malformed or invalid document; `details` lists every problem */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    put_partner: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description partner id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["PartnerUpsert"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WriteAnswer"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    put_employee: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                email: string;
                /** @description partner id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["EmployeeUpsert"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WriteAnswer"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    push: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["PushBody"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PushAnswer"];
                };
            };
            /** @description Malformed request, a set that does not validate (`details`: every error with file and line), a failing test (`details`: file, case, message), or (with `activate`) a schema that would orphan stored permissions (the version is then stored, not activated) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `activate` on a sidecar serving its policy directory; nothing stored */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    impact: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ImpactBody"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ImpactReport"];
                };
            };
            /** @description A malformed version or body, or too many examples */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No stored version starts with `from` or `to` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description A prefix names several versions */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The store failed, has no active version (with `from` omitted), or the analysis ran out of time */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    reload: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReloadAnswer"];
                };
            };
            /** @description The new set does not load (`details` lists every error with file and line), or its schema drops permissions that stored records hold (`details` lists each permission with its holder counts and first holders) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The store could not be read to check the new schema against it */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    versions: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PolicyHistory"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    version: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the version's hash, or a unique prefix of it (8 hex digits or more) */
                version: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoredPolicySet"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The prefix names several versions */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    activate: {
        parameters: {
            query?: {
                /** @description Who activates, for the history and the audit log [default: `admin-token`]. */
                actor?: string;
            };
            header?: never;
            path: {
                /** @description the version's hash, or a unique prefix of it (8 hex digits or more) */
                version: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Activated"];
                };
            };
            /** @description A malformed version, or a schema that would orphan stored permissions (`details`, as a reload gives); nothing changed */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description This sidecar serves its policy directory (start it with `--policies-from-store`), or the prefix names several versions */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    audit: {
        parameters: {
            query?: {
                /** @description The cursor: records after this sequence number. */
                after?: number;
                /** @description Only records of this client (audit only). */
                client?: string;
                /** @description Records per page (1 to 1,000; default 100). */
                limit?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description `records` and `next` (the cursor for `after=`, null at the end) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Page_AuditRecord"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    migrate_to_partner_admin: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                client: string;
            };
            cookie?: never;
        };
        /** @description actor, user, keep_billing (MIG) */
        requestBody: {
            content: {
                "application/json": components["schemas"]["MigrateToPartnerAdminBody"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_ClientUserRecord"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_ClientUserRecord"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    add_partner_users: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                client: string;
            };
            cookie?: never;
        };
        /** @description actor, employees, permission_set (ADD, PERM-2) */
        requestBody: {
            content: {
                "application/json": components["schemas"]["AddPartnerUsersBody"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_Added"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_Added"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    deactivate_partner_user: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                client: string;
                employee: string;
            };
            cookie?: never;
        };
        /** @description actor (REM-2, MIG-4) */
        requestBody: {
            content: {
                "application/json": components["schemas"]["ActorOnly"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_StatusChange"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_StatusChange"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    set_partner_permission_set: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                client: string;
                employee: string;
            };
            cookie?: never;
        };
        /** @description actor, permission_set (PERM) */
        requestBody: {
            content: {
                "application/json": components["schemas"]["SetPartnerPermissionSetBody"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_PermissionsApplied"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_PermissionsApplied"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    grant_partner_permission: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                client: string;
                employee: string;
                permission: string;
            };
            cookie?: never;
        };
        /** @description actor (PERM-4, PERM-1, PERM-2, PA-1) */
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "actor": "ann@acme.example"
                 *     }
                 */
                "application/json": components["schemas"]["ActorOnly"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "permissions": [
                     *         "apps.manage",
                     *         "crm.objects.edit",
                     *         "reports.access"
                     *       ],
                     *       "withheld": [],
                     *       "kept": [],
                     *       "role": "standard",
                     *       "seat": "partner",
                     *       "revision": 7
                     *     }
                     */
                    "application/json": components["schemas"]["Answered_PermissionsApplied"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_PermissionsApplied"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    revoke_partner_permission: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                client: string;
                employee: string;
                permission: string;
            };
            cookie?: never;
        };
        /** @description actor (PERM-4, PERM-1, PERM-2, PA-1) */
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "actor": "ann@acme.example"
                 *     }
                 */
                "application/json": components["schemas"]["ActorOnly"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "permissions": [
                     *         "crm.objects.edit"
                     *       ],
                     *       "withheld": [],
                     *       "kept": [],
                     *       "role": "standard",
                     *       "seat": "partner",
                     *       "revision": 8
                     *     }
                     */
                    "application/json": components["schemas"]["Answered_PermissionsApplied"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_PermissionsApplied"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    reactivate_partner_user: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                client: string;
                employee: string;
            };
            cookie?: never;
        };
        /** @description actor (REM-3, REM-7) */
        requestBody: {
            content: {
                "application/json": components["schemas"]["ActorOnly"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_StatusChange"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_StatusChange"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    reactivate_all_partner_users: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                client: string;
            };
            cookie?: never;
        };
        /** @description actor (REM-7, REM-3, PA-1) */
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "actor": "dana@acme.example"
                 *     }
                 */
                "application/json": components["schemas"]["ActorOnly"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "client": "c-hooli",
                     *       "partner": "p-acme",
                     *       "reactivated": [
                     *         "bob@acme.example",
                     *         "dana@acme.example"
                     *       ],
                     *       "revision": 12
                     *     }
                     */
                    "application/json": components["schemas"]["Answered_ReactivatedAll"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_ReactivatedAll"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    client_removal_preview: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                client: string;
            };
            cookie?: never;
        };
        /** @description actor (REM-6) */
        requestBody: {
            content: {
                "application/json": components["schemas"]["ActorOnly"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_ClientRemovalPreviewed"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_ClientRemovalPreviewed"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    remove_all_partner_users: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                client: string;
            };
            cookie?: never;
        };
        /** @description actor, version (REM-6, REM-8, REL-2) */
        requestBody: {
            content: {
                "application/json": components["schemas"]["RemoveAllBody"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_RemovedAll"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_RemovedAll"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    relationship: {
        parameters: {
            query?: {
                /** @description An RFC 3339 instant (default: now). */
                at?: string;
            };
            header?: never;
            path: {
                client: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "client": "c-globex",
                     *       "at": "2026-03-01T00:00:00Z",
                     *       "partner": "p-acme",
                     *       "state": "ending",
                     *       "started_at": "2025-09-01T08:00:00Z",
                     *       "ends_at": "2026-04-20T10:30:00Z",
                     *       "last_activity_at": "2026-02-19T10:30:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["RelationshipAnswer"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    relationship_history: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                client: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "client": "c-globex",
                     *       "relationships": [
                     *         {
                     *           "partner": "p-acme",
                     *           "state": "ended",
                     *           "started_at": "2025-01-10T08:00:00Z",
                     *           "ending_since": "2025-03-02T09:00:00Z",
                     *           "ended_at": "2025-05-01T09:00:00Z",
                     *           "last_activity_at": "2025-03-02T09:00:00Z"
                     *         },
                     *         {
                     *           "partner": "p-acme",
                     *           "state": "active",
                     *           "started_at": "2025-09-01T08:00:00Z",
                     *           "ending_since": null,
                     *           "ended_at": null,
                     *           "last_activity_at": "2026-02-19T10:30:00Z"
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["RelationshipHistoryAnswer"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    assign_seats: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                client: string;
            };
            cookie?: never;
        };
        /** @description actor, users, seat (SEAT-3) */
        requestBody: {
            content: {
                "application/json": components["schemas"]["AssignSeatsBody"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_SeatsAssigned"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_SeatsAssigned"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    client_users: {
        parameters: {
            query: {
                /** @description The person reading, as the host authenticated them. */
                actor: string;
            };
            header?: never;
            path: {
                client: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ClientUsers"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    create_user: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                client: string;
            };
            cookie?: never;
        };
        /** @description actor, email, seat, permission_set (SEAT-6, SEAT-7) */
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateUserBody"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_CreatedUser"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_CreatedUser"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    remove_user: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                client: string;
                email: string;
            };
            cookie?: never;
        };
        /** @description actor (REM-9, MIG-4) */
        requestBody: {
            content: {
                "application/json": components["schemas"]["ActorOnly"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_RemovedUser"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_RemovedUser"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    set_paid_hubs: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                client: string;
                email: string;
            };
            cookie?: never;
        };
        /** @description actor, paid_hubs: ["sales", "service"] (SEAT-9, SEAT-8) */
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "actor": "owner@globex.example",
                 *       "paid_hubs": [
                 *         "sales"
                 *       ]
                 *     }
                 */
                "application/json": components["schemas"]["SetPaidHubsBody"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "email": "ann@acme.example",
                     *       "role": "partner_admin",
                     *       "seat": "partner",
                     *       "paid_hubs": [
                     *         "sales"
                     *       ],
                     *       "permissions": [
                     *         "crm.objects.edit"
                     *       ],
                     *       "status": "active",
                     *       "partner": "p-acme",
                     *       "keep_billing": false,
                     *       "revision": 11
                     *     }
                     */
                    "application/json": components["schemas"]["Answered_ClientUserRecord"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_ClientUserRecord"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    set_client_permission_set: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                client: string;
                email: string;
            };
            cookie?: never;
        };
        /** @description actor, permission_set (SEAT-4) */
        requestBody: {
            content: {
                "application/json": components["schemas"]["SetClientPermissionSetBody"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_PermissionsApplied"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_PermissionsApplied"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    grant_client_permission: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                client: string;
                email: string;
                permission: string;
            };
            cookie?: never;
        };
        /** @description actor (PERM-4, SEAT-4, PERM-2) */
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "actor": "owner@globex.example"
                 *     }
                 */
                "application/json": components["schemas"]["ActorOnly"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "permissions": [
                     *         "billing.edit",
                     *         "crm.objects.edit"
                     *       ],
                     *       "withheld": [],
                     *       "kept": [],
                     *       "role": "partner_admin",
                     *       "revision": 9
                     *     }
                     */
                    "application/json": components["schemas"]["Answered_PermissionsApplied"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_PermissionsApplied"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    revoke_client_permission: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                client: string;
                email: string;
                permission: string;
            };
            cookie?: never;
        };
        /** @description actor (PERM-4, SEAT-4, PERM-2) */
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "actor": "owner@globex.example"
                 *     }
                 */
                "application/json": components["schemas"]["ActorOnly"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "permissions": [
                     *         "crm.objects.edit"
                     *       ],
                     *       "withheld": [],
                     *       "kept": [],
                     *       "role": "partner_admin",
                     *       "revision": 10
                     *     }
                     */
                    "application/json": components["schemas"]["Answered_PermissionsApplied"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_PermissionsApplied"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    set_seat: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                client: string;
                email: string;
            };
            cookie?: never;
        };
        /** @description actor, seat (SEAT-5, SEAT-8) */
        requestBody: {
            content: {
                "application/json": components["schemas"]["SetSeatBody"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_ClientUserRecord"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_ClientUserRecord"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    events: {
        parameters: {
            query?: {
                /** @description The cursor: records after this sequence number. */
                after?: number;
                /** @description Only records of this client (audit only). */
                client?: string;
                /** @description Records per page (1 to 1,000; default 100). */
                limit?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description `records` and `next` (the cursor for `after=`, null at the end) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Page_Event"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    events_stream: {
        parameters: {
            query?: {
                /**
                 * @description Start after this sequence number (default 0: from the oldest event kept). A
                 *     `Last-Event-ID` header, as a reconnecting client sends, takes precedence.
                 */
                after?: number;
            };
            header?: {
                /** @description resume after this event (the `id` of the last one received) */
                "Last-Event-ID"?: string | null;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description `text/event-stream`: one message per event (`id`: its sequence number, `event`: its type, `data`: the event as `GET /v1/events` lists it) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": unknown;
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    explain: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CheckBody"];
            };
        };
        responses: {
            /** @description The decision and its explanation */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExplainAnswer"];
                };
            };
            /** @description Malformed request or undeclared action */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The request expects another `policy_version`: nothing was explained */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The store cannot be read */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    is_authorized: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CheckBody"];
            };
        };
        responses: {
            /** @description The decision */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CheckAnswer"];
                };
            };
            /** @description Malformed request or undeclared action */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The request expects another `policy_version`: nothing was decided */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Body over the limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The consistency asked for cannot be met now (`at_least_as_fresh` a revision the store has not reached in time, `fully_consistent` with the store or its change feed unreachable): nothing was decided */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    is_authorized_batch: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["BatchBody"];
            };
        };
        responses: {
            /** @description One answer per check, in order */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BatchAnswer"];
                };
            };
            /** @description Not a batch, or empty, or over 1,000 checks */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The batch expects another `policy_version`: nothing was decided */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Body over the limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The consistency asked for cannot be met now (`at_least_as_fresh` a revision the store has not reached in time, `fully_consistent` with the store or its change feed unreachable): nothing was decided */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    issue_access_link: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                partner: string;
            };
            cookie?: never;
        };
        /** @description actor, employee?, rotate? (PA-1, PA-3) */
        requestBody: {
            content: {
                "application/json": components["schemas"]["IssueAccessLinkBody"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_IssuedLink"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_IssuedLink"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    partner_clients: {
        parameters: {
            query: {
                /** @description `partner_admin`, `partner_user` or `deactivated`. */
                access?: string;
                actor: string;
            };
            header?: never;
            path: {
                partner: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PartnerClients"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    partner_employees: {
        parameters: {
            query: {
                /** @description The person reading, as the host authenticated them. */
                actor: string;
            };
            header?: never;
            path: {
                partner: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PartnerEmployees"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    link_employee: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                employee: string;
                partner: string;
            };
            cookie?: never;
        };
        /** @description actor, client (LINK-1, LINK-2) */
        requestBody: {
            content: {
                "application/json": components["schemas"]["LinkEmployeeBody"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_Linked"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_Linked"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    employee_removal_preview: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                employee: string;
                partner: string;
            };
            cookie?: never;
        };
        /** @description actor (REM-5) */
        requestBody: {
            content: {
                "application/json": components["schemas"]["ActorOnly"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_EmployeeRemovalPreviewed"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_EmployeeRemovalPreviewed"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    remove_employee: {
        parameters: {
            query?: never;
            header?: {
                /** @description a repeat with the same key and request gets the first answer */
                "Idempotency-Key"?: string | null;
            };
            path: {
                employee: string;
                partner: string;
            };
            cookie?: never;
        };
        /** @description actor, clients, version (REM-1, REM-2, REM-5) */
        requestBody: {
            content: {
                "application/json": components["schemas"]["RemoveEmployeeBody"];
            };
        };
        responses: {
            /** @description Applied */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_RemovedEmployee"];
                };
            };
            /** @description Applied; something was created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Answered_RemovedEmployee"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The policies deny it; `rules` names the deciding rule and policy ids */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An invariant would break, a stale preview, or a reused idempotency key */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    policies: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PoliciesAnswer"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    actions: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ActionsAnswer"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    search: {
        parameters: {
            query: {
                /**
                 * @description `user` (e-mails of employees and client users), `account` or `partner`.
                 * @example user
                 */
                kind: string;
                /** @description Matches to return, 1 to 50 (default 20). */
                limit?: number;
                /** @description The start of the id (`ann`); empty lists the first ids. */
                q?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The first matches */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SearchAnswer"];
                };
            };
            /** @description Unknown kind or limit out of range */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The store cannot be read */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    accounts: {
        parameters: {
            query: {
                /** @description The action (`reports.access`). */
                action: string;
                /** @description The `next` of the previous page. */
                after?: string;
                /** @description Accounts per page, 1 to 1,000 (default 100). */
                limit?: number;
            };
            header?: never;
            path: {
                email: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of accounts */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AccountsAnswer"];
                };
            };
            /** @description Unknown action, bad e-mail or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The store cannot be read */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
}
