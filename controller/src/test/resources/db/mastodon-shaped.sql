-- A small database shaped like Mastodon's where it matters for dump/restore: a plpgsql function
-- used as a column default (Mastodon's timestamp_id), an enum, sequences with set values, jsonb,
-- arrays, foreign keys, a materialized view and mixed-case identifiers. Loaded as the mastodon role.
CREATE TYPE account_kind AS ENUM ('person', 'bot', 'group');

CREATE SEQUENCE statuses_id_seq;

CREATE FUNCTION timestamp_id(table_name text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  time_part bigint;
  tail bigint;
BEGIN
  time_part := ((date_part('epoch', now()) * 1000))::bigint << 16;
  tail := nextval(table_name || '_id_seq') & 65535;
  RETURN time_part | tail;
END
$$;

CREATE TABLE accounts (
  id bigserial PRIMARY KEY,
  username text NOT NULL UNIQUE,
  kind account_kind NOT NULL DEFAULT 'person',
  fields jsonb NOT NULL DEFAULT '[]',
  created_at timestamp NOT NULL DEFAULT now()
);

CREATE TABLE statuses (
  id bigint PRIMARY KEY DEFAULT timestamp_id('statuses'),
  account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  text text NOT NULL,
  tags text[] NOT NULL DEFAULT '{}',
  ordered_media_attachment_ids bigint[],
  created_at timestamp NOT NULL DEFAULT now()
);
CREATE INDEX index_statuses_on_account_id ON statuses (account_id, id DESC);

CREATE TABLE "MixedCase Table" (
  "Id" serial PRIMARY KEY,
  "DisplayName" text NOT NULL,
  "AccountId" bigint REFERENCES accounts (id)
);

CREATE SEQUENCE "Odd_Sequence";
CREATE SEQUENCE never_used_sequence;

INSERT INTO accounts (username, kind, fields)
SELECT 'user' || i, (ARRAY['person', 'bot', 'group']::account_kind[])[1 + i % 3],
       jsonb_build_array(jsonb_build_object('name', 'Website', 'value', 'https://example.com/' || i))
FROM generate_series(1, 300) i;

-- Text like posts: words that repeat across rows, plus a random-ish part, so it compresses
-- neither too well nor not at all.
INSERT INTO statuses (account_id, text, tags, ordered_media_attachment_ids)
SELECT 1 + i % 300,
       'Post number ' || i || ' about the fediverse: '
         || (SELECT string_agg(md5(i::text || ':' || g::text), ' ') FROM generate_series(1, 8 + i % 5) g),
       ARRAY['tag' || (i % 17), 'mastodon'],
       CASE WHEN i % 4 = 0 THEN ARRAY[i::bigint, i::bigint + 1] END
FROM generate_series(1, 30000) i;

INSERT INTO "MixedCase Table" ("DisplayName", "AccountId")
SELECT 'Name ' || i, 1 + i % 300 FROM generate_series(1, 50) i;

SELECT setval('accounts_id_seq', 5000);
SELECT setval('"Odd_Sequence"', 4242);

CREATE MATERIALIZED VIEW account_summaries AS
  SELECT account_id, count(*) AS statuses_count FROM statuses GROUP BY account_id;
