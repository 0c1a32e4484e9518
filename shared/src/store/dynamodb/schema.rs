//! The names the adapter's queries use for the tables' indexes and TTL. The tables themselves
//! (keys, GSIs, TTL) are declared only in `infra/template.yaml`, and created from it where they
//! do not exist yet by `paygate-template` (whose tests check these names against the template).
//! `docs/data-model.md` describes the same model.

/// The GSI of pending payments by deadline, used by the expiry sweep.
pub const PENDING_INDEX: &str = "pending-by-expiry";
/// Pending payments are spread over this many GSI partitions (`PENDING#0`..), so a burst of
/// holds never concentrates on one partition key.
pub const PENDING_SHARDS: u32 = 8;
/// The GSI of payments by payer (the client that created them), newest first.
pub const PAYER_INDEX: &str = "payments-by-payer";
/// The GSI of payments by payee (the owner of their destination), newest first.
pub const PAYEE_INDEX: &str = "payments-by-payee";
/// The GSI of webhook events by recipient, newest first (range: the event id).
pub const EVENTS_INDEX: &str = "events-by-recipient";
/// The sparse GSI of batched accounts (only they have its key, `posting`), keys only: the
/// posting sweep's listing. No projected attribute changes when a balance moves, so account
/// writes never write this index.
pub const POSTING_INDEX: &str = "accounts-by-posting";
/// A batched account's unposted credits are spread over this many partitions
/// (`UNPOSTED#acc_…#0`..), none of them the account's own, so a burst of payments into one
/// account never concentrates on one partition key.
pub const UNPOSTED_SHARDS: u32 = 8;
/// The sparse GSI of payments in review (only they carry its keys), oldest first: what
/// `GET /reviews` lists. One partition: reviews are rare and read by operators.
pub const REVIEW_INDEX: &str = "payments-in-review";
/// The one partition key of the reviews index.
pub const REVIEW_PARTITION: &str = "REVIEW";
/// The GSI of accounts by owning client.
pub const OWNER_INDEX: &str = "accounts-by-owner";
/// The TTL attribute: epoch seconds after which DynamoDB deletes an idempotency record, an
/// event, a delivery record or a resend request.
pub const TTL_ATTRIBUTE: &str = "expire_at";
