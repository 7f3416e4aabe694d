-- The Mastodon-shaped database of bench/db.sh and bench/db-fixed.sh; psql variables :posts and :favs set its size.
CREATE TYPE account_kind AS ENUM ('person', 'bot', 'group');
CREATE TABLE accounts (id bigserial PRIMARY KEY, username text NOT NULL UNIQUE, domain text,
  kind account_kind NOT NULL DEFAULT 'person', note text, fields jsonb, created_at timestamp NOT NULL DEFAULT now());
CREATE TABLE statuses (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts (id),
  uri text, text text NOT NULL, language text, tags text[], created_at timestamp NOT NULL, updated_at timestamp NOT NULL);
CREATE INDEX index_statuses_on_account_id_id ON statuses (account_id, id DESC);
CREATE TABLE favourites (id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts (id),
  status_id bigint NOT NULL REFERENCES statuses (id), created_at timestamp NOT NULL);
CREATE INDEX index_favourites_on_status_id ON favourites (status_id);

-- A vocabulary of 20000 pronounceable words; posts pick them with a Zipf-like skew
-- (power of random), like natural language, so gzip sees text that compresses like posts.
CREATE TEMP TABLE words AS
  SELECT i AS id, string_agg(substr('bcdfghjklmnprstvwz', 1 + (abs(hashtext(i || ':' || g)) % 18), 1)
                             || substr('aeiouaeiy', 1 + (abs(hashtext(g || '/' || i)) % 9), 1), '') AS w
  FROM generate_series(0, 19999) i, generate_series(1, 2 + i % 4) g GROUP BY i;
CREATE TEMP TABLE sentences AS
  SELECT s AS id, initcap(string_agg(w.w, ' ' ORDER BY k)) || (ARRAY['.', '!', '?', '.'])[1 + s % 4] AS t
  FROM generate_series(0, 199999) s
  CROSS JOIN LATERAL generate_series(1, 6 + s % 9) k
  JOIN words w ON w.id = floor(power(abs(hashtext(s || '-' || k)) / 2147483648.0, 3) * 20000)::int
  GROUP BY s;
CREATE INDEX ON sentences (id);
ANALYZE sentences;

INSERT INTO accounts (username, domain, kind, note, fields, created_at)
SELECT 'user' || i, CASE WHEN i % 3 = 0 THEN 'remote' || (i % 97) || '.example' END,
       (ARRAY['person', 'bot', 'group']::account_kind[])[1 + i % 3], '<p>Hello, I am user ' || i || '</p>',
       jsonb_build_array(jsonb_build_object('name', 'Website', 'value', 'https://example.com/~u' || i)),
       now() - (i || ' minutes')::interval
FROM generate_series(1, 50000) i;

INSERT INTO statuses (id, account_id, uri, text, language, tags, created_at, updated_at)
SELECT (1700000000000 + i * 1000) << 16 | (i & 65535), 1 + (i * 7919) % 50000,
       CASE WHEN i % 3 = 0 THEN 'https://remote' || (i % 97) || '.example/statuses/' || i END,
       '<p>' || CASE WHEN i % 5 = 0 THEN '<span class="h-card"><a href="https://example.com/@user' || (i % 50000)
                 || '" class="u-url mention">@<span>user' || (i % 50000) || '</span></a></span> ' ELSE '' END
       || a.t || ' ' || b.t || CASE WHEN i % 2 = 0 THEN ' ' || c.t ELSE '' END
       || CASE WHEN i % 7 = 0 THEN ' <a href="https://news.example/article/' || i || '" rel="nofollow noopener">news.example/article/' || i || '</a>' ELSE '' END
       || '</p>',
       (ARRAY['en', 'de', 'fr', 'ja', 'en', 'en'])[1 + i % 6],
       CASE WHEN i % 4 = 0 THEN ARRAY['tag' || (i % 300)] END,
       now() - (i || ' seconds')::interval, now() - (i || ' seconds')::interval
FROM generate_series(1::bigint, :posts) i
JOIN sentences a ON a.id = (i * 31) % 200000
JOIN sentences b ON b.id = (i * 7717 + 13) % 200000
JOIN sentences c ON c.id = (i * 104729 + 7) % 200000;

INSERT INTO favourites (account_id, status_id, created_at)
SELECT 1 + (i * 13) % 50000, ((1700000000000 + (1 + (i * 48271) % :posts) * 1000) << 16) | ((1 + (i * 48271) % :posts) & 65535),
       now() - (i || ' seconds')::interval
FROM generate_series(1::bigint, :favs) i;
SELECT setval('favourites_id_seq', :favs + 1000);
CREATE MATERIALIZED VIEW account_summaries AS SELECT account_id, count(*) AS statuses_count FROM statuses GROUP BY account_id;
