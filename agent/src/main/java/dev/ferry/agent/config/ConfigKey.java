package dev.ferry.agent.config;

import java.util.Arrays;
import java.util.Optional;

/**
 * Every key the agent config accepts. The example in {@code systemd/agent.conf.example} documents
 * each one; a test keeps the two in step.
 */
public enum ConfigKey {
  LISTEN("listen"),
  STATE_DIR("state_dir"),
  PAIRING_CODE_TTL("pairing_code_ttl"),
  LAYOUT("layout"),
  MASTODON_ROOT("mastodon.root"),
  MASTODON_USER("mastodon.user"),
  MASTODON_GROUP("mastodon.group"),
  MASTODON_ENV_FILE("mastodon.env_file"),
  MASTODON_LOCAL_DOMAIN("mastodon.local_domain"),
  MEDIA_ROOT("media.root"),
  SECRETS_DIR("secrets.dir"),
  DB_NAME("db.name"),
  DB_ROLE("db.role"),
  DB_HOST("db.host"),
  DB_PORT("db.port"),
  DB_SUPERUSER("db.superuser"),
  PG_BINDIR("pg.bindir"),
  UNITS("units"),
  UNITS_ALLOW("units.allow"),
  REDIS_UNIT("redis.unit"),
  REDIS_DUMP("redis.dump"),
  REDIS_USER("redis.user"),
  TOOTCTL("tootctl"),
  WEB_URL("web.url");

  private final String key;

  ConfigKey(String key) {
    this.key = key;
  }

  public String key() {
    return key;
  }

  public static Optional<ConfigKey> of(String key) {
    return Arrays.stream(values()).filter(k -> k.key.equals(key)).findFirst();
  }
}
