package dev.ferry.agent.secrets;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Secret settings by key. Deliberately not a record: its {@link #toString()} names the keys
 * only, so a stray log line or exception message can never carry a value.
 */
public final class SecretValues {
  private final Map<String, String> values;

  public SecretValues(Map<String, String> values) {
    this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
  }

  public Set<String> keys() {
    return values.keySet();
  }

  public String value(String key) {
    return values.get(key);
  }

  public Map<String, String> asMap() {
    return values;
  }

  @Override
  public String toString() {
    return "SecretValues" + values.keySet();
  }
}
