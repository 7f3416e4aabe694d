package dev.ferry.agent.grpc;

import dev.ferry.proto.v1.Operation;
import java.util.Map;

/**
 * Which methods a peer agent (not a controller) may call, and the ticket operation each needs.
 * Methods not listed here are for paired controllers only.
 */
final class PeerPolicy {
  private PeerPolicy() {}

  static Map<String, Operation> methods() {
    return Map.of();
  }
}
