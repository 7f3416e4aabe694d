package dev.ferry.controller.demo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Random;

/**
 * Generates a small Mastodon-shaped instance: the database schema and rows (with the features
 * that trip restores up: a plpgsql column default, an enum, set sequences, jsonb, arrays, FKs, a
 * materialized view, mixed-case names), a public/system tree in Mastodon's id_partition layout
 * with most bytes under cache/, and a .env.production with real-looking secrets.
 */
public final class SampleInstance {
  private final int accounts;
  private final int statuses;
  private final long seed;

  public SampleInstance(int accounts, int statuses, long seed) {
    this.accounts = accounts;
    this.statuses = statuses;
    this.seed = seed;
  }

  /** The schema and data, as one SQL script to run as the Mastodon role. */
  public String sql() {
    return """
        CREATE TYPE visibility AS ENUM ('public', 'unlisted', 'private', 'direct');
        CREATE SEQUENCE accounts_id_seq;
        -- Mastodon's own id default: time-ordered ids from a plpgsql function.
        CREATE FUNCTION timestamp_id(table_name text) RETURNS bigint AS $$
        BEGIN
          RETURN (floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint << 16)
                 | (nextval(table_name || '_id_seq') & 65535);
        END
        $$ LANGUAGE plpgsql VOLATILE;
        CREATE TABLE accounts (
          id bigint PRIMARY KEY DEFAULT timestamp_id('accounts'),
          username varchar NOT NULL,
          domain varchar,
          display_name text NOT NULL DEFAULT '',
          avatar_file_name varchar,
          fields jsonb NOT NULL DEFAULT '[]',
          created_at timestamp NOT NULL DEFAULT now());
        CREATE TABLE statuses (
          id bigserial PRIMARY KEY,
          account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
          text text NOT NULL,
          visibility visibility NOT NULL DEFAULT 'public',
          tags text[] NOT NULL DEFAULT '{}',
          created_at timestamp NOT NULL DEFAULT now());
        CREATE INDEX index_statuses_on_account_id ON statuses (account_id, id DESC);
        CREATE TABLE media_attachments (
          id bigserial PRIMARY KEY,
          status_id bigint REFERENCES statuses(id) ON DELETE SET NULL,
          file_file_name varchar,
          file_file_size integer,
          remote_url varchar NOT NULL DEFAULT '');
        CREATE TABLE "SiteSettings" ("VarName" varchar PRIMARY KEY, "Value" text);
        CREATE MATERIALIZED VIEW account_summaries AS
          SELECT account_id, count(*) AS statuses_count, max(created_at) AS last_status_at
          FROM statuses GROUP BY account_id;
        """
        + String.format(Locale.ROOT, """
        INSERT INTO accounts (username, domain, display_name, avatar_file_name, fields)
          SELECT 'user' || g, CASE WHEN g %% 3 = 0 THEN NULL ELSE 'remote' || (g %% 7) || '.example' END,
                 'Ünïcode näme ' || g, md5(g::text) || '.png',
                 jsonb_build_array(jsonb_build_object('name', 'site', 'value', 'https://example.org/' || g))
          FROM generate_series(1, %d) g;
        INSERT INTO statuses (account_id, text, visibility, tags)
          SELECT a.id, 'Toot number ' || g || ': ' || repeat('the quick brown fox jumps over the lazy dog ', 1 + g %% 5),
                 (ARRAY['public','unlisted','private','direct']::visibility[])[1 + g %% 4],
                 ARRAY['tag' || (g %% 11), 'fediverse']
          FROM generate_series(1, %d) g
          JOIN LATERAL (SELECT id FROM accounts ORDER BY id OFFSET (g %% %d) LIMIT 1) a ON true;
        INSERT INTO media_attachments (status_id, file_file_name, file_file_size, remote_url)
          SELECT id, md5(id::text) || '.jpg', 1000 + id %% 5000, CASE WHEN id %% 2 = 0 THEN 'https://remote.example/m/' || id ELSE '' END
          FROM statuses WHERE id %% 4 = 0;
        INSERT INTO "SiteSettings" VALUES ('site_title', 'ferry demo'), ('registrations_mode', 'approved');
        SELECT setval('statuses_id_seq', 100000 + %d);
        SELECT setval('media_attachments_id_seq', 5000000);
        REFRESH MATERIALIZED VIEW account_summaries;
        """, accounts, statuses, accounts, statuses);
  }

  /** Writes a public/system tree and returns how many files and bytes it holds. */
  public long[] writeMedia(Path root) throws IOException {
    Random random = new Random(seed);
    long files = 0;
    long bytes = 0;
    Instant base = Instant.parse("2024-06-01T12:00:00Z");
    for (int i = 1; i <= accounts; i++) {
      boolean local = i % 3 == 0;
      String partition = partition(i);
      String prefix = local ? "" : "cache/";
      for (String style : new String[] {"original", "static"}) {
        bytes += write(root.resolve(prefix + "accounts/avatars/" + partition + "/" + style + "/" + hex(random) + ".png"),
            2_000 + random.nextInt(30_000), random, base.plusSeconds(i));
        files++;
      }
    }
    for (int i = 1; i <= statuses / 4; i++) {
      String prefix = i % 2 == 0 ? "cache/" : "";
      String partition = partition(100_000 + i);
      bytes += write(root.resolve(prefix + "media_attachments/files/" + partition + "/original/" + hex(random) + ".jpg"),
          10_000 + random.nextInt(120_000), random, base.plusSeconds(1000 + i));
      bytes += write(root.resolve(prefix + "media_attachments/files/" + partition + "/small/" + hex(random) + ".jpg"),
          1_000 + random.nextInt(10_000), random, base.plusSeconds(1000 + i));
      files += 2;
    }
    // A couple of larger "videos", and the small local extras.
    for (int i = 0; i < 2; i++) {
      bytes += write(root.resolve("media_attachments/files/" + partition(900 + i) + "/original/video" + i + ".mp4"),
          3_000_000 + random.nextInt(1_000_000), random, base.plusSeconds(5000 + i));
      files++;
    }
    bytes += write(root.resolve("custom_emojis/images/000/000/001/original/blobcat.png"), 4_000, random, base);
    bytes += write(root.resolve("site_uploads/files/000/000/001/original/thumbnail.png"), 40_000, random, base);
    files += 2;
    return new long[] {files, bytes};
  }

  /** A .env.production as mastodon:setup writes it, with fresh random secrets. */
  public String envProduction(String domain, String dbName, Path socketDir) {
    SecureRandom random = new SecureRandom();
    return "LOCAL_DOMAIN=" + domain + "\n"
        + "SINGLE_USER_MODE=false\n"
        + "SECRET_KEY_BASE=" + randomHex(random, 64) + "\n"
        + "OTP_SECRET=" + randomHex(random, 64) + "\n"
        + "VAPID_PRIVATE_KEY=" + randomHex(random, 32) + "\n"
        + "VAPID_PUBLIC_KEY=" + randomHex(random, 65) + "\n"
        + "ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY=" + randomHex(random, 16) + "\n"
        + "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT=" + randomHex(random, 16) + "\n"
        + "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY=" + randomHex(random, 16) + "\n"
        + "DB_HOST=" + socketDir + "\nDB_USER=mastodon\nDB_NAME=" + dbName + "\nDB_PORT=5432\n"
        + "REDIS_HOST=localhost\nREDIS_PORT=6379\n";
  }

  /** lib/mastodon/version.rb, where the agent reads the version. */
  public static String versionRb(int major, int minor, int patch) {
    return "module Mastodon\n  module Version\n    module_function\n\n"
        + "    def major\n      " + major + "\n    end\n\n"
        + "    def minor\n      " + minor + "\n    end\n\n"
        + "    def patch\n      " + patch + "\n    end\n  end\nend\n";
  }

  static String partition(long id) {
    String padded = String.format(Locale.ROOT, "%09d", id);
    return padded.substring(0, 3) + "/" + padded.substring(3, 6) + "/" + padded.substring(6);
  }

  private static String hex(Random random) {
    return Long.toHexString(random.nextLong() & Long.MAX_VALUE);
  }

  private static String randomHex(SecureRandom random, int bytes) {
    byte[] data = new byte[bytes];
    random.nextBytes(data);
    return HexFormat.of().formatHex(data);
  }

  private static long write(Path file, int size, Random random, Instant mtime) throws IOException {
    Files.createDirectories(file.getParent());
    byte[] data = new byte[size];
    random.nextBytes(data);
    Files.write(file, data);
    Files.setLastModifiedTime(file, FileTime.from(mtime));
    return size;
  }
}
