-- The PostgreSQL store's tables: the same layout as the redb file (see src/store/postgres_store.rs).
-- Keys are `COLLATE "C"` so that they sort by bytes, as redb's keys do: pages, cursors and
-- searches answer in the same order on both backends.

-- `revision`: the store's revision; every write transaction takes this row `FOR UPDATE` first,
-- which serializes writers across every sidecar on the database.
CREATE TABLE meta (
    key   text COLLATE "C" PRIMARY KEY,
    value bigint NOT NULL
);
INSERT INTO meta (key, value) VALUES ('revision', 0);

CREATE TABLE partners (
    id  text COLLATE "C" PRIMARY KEY,
    row bytea NOT NULL
);

-- An e-mail has one employer.
CREATE TABLE employees (
    email   text COLLATE "C" PRIMARY KEY,
    partner text COLLATE "C" NOT NULL,
    row     bytea NOT NULL
);
CREATE INDEX employees_by_partner ON employees (partner, email);

CREATE TABLE clients (
    id  text COLLATE "C" PRIMARY KEY,
    row bytea NOT NULL
);

CREATE TABLE memberships (
    client text COLLATE "C" NOT NULL,
    email  text COLLATE "C" NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (client, email)
);
CREATE INDEX memberships_by_email ON memberships (email, client);

CREATE TABLE assets (
    client text COLLATE "C" NOT NULL,
    id     text COLLATE "C" NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (client, id)
);

-- Side tables of the commands: access links, employee links, idempotency keys, relationships.
-- Keys are bytes: an idempotency key is the actor and the caller's key joined by a NUL, which
-- PostgreSQL's text cannot hold.
CREATE TABLE aux (
    tbl   text COLLATE "C" NOT NULL,
    key   bytea NOT NULL,
    value bytea NOT NULL,
    PRIMARY KEY (tbl, key)
);

-- The audit log and the outbox: sequence numbers from 1, without gaps (writers are serialized).
CREATE TABLE logs (
    log   text COLLATE "C" NOT NULL,
    seq   bigint NOT NULL,
    value bytea NOT NULL,
    PRIMARY KEY (log, seq)
);

-- The change feed the sidecars follow to evict what other sidecars changed: one row per
-- committed revision, with the records it touched (JSON) or `everything` for an import.
CREATE TABLE changes (
    revision   bigint PRIMARY KEY,
    everything boolean NOT NULL,
    keys       bytea NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
