package dev.ferry.controller.client;

/**
 * Where a copy is.
 *
 * @param phase preflight, cleanup, streaming, restoring, verifying or swapping
 * @param note a line for humans, or empty
 */
public record DbProgress(String phase, long bytesStreamed, int tablesRestored, int tablesTotal, String note) {}
