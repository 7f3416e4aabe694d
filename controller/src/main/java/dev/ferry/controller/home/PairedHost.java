package dev.ferry.controller.home;

/**
 * An agent this controller has paired with.
 *
 * @param name the user's name for it
 * @param address host:port
 * @param fingerprint the pinned certificate fingerprint
 * @param hostname what the agent reported at pairing
 * @param pairedAt ISO-8601 time of pairing
 */
public record PairedHost(String name, String address, String fingerprint, String hostname, String pairedAt) {}
