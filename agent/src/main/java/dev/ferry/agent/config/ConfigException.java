package dev.ferry.agent.config;

/** A config file the agent refuses to start with. The message names the file, line and key. */
public final class ConfigException extends Exception {
  public ConfigException(String message) {
    super(message);
  }
}
