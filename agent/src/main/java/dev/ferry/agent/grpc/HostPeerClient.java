package dev.ferry.agent.grpc;

import dev.ferry.agent.redis.RedisDump;
import dev.ferry.agent.secrets.SecretValues;
import dev.ferry.proto.v1.HostServiceGrpc;
import dev.ferry.proto.v1.PeerSource;
import dev.ferry.proto.v1.ReadRedisDumpRequest;
import dev.ferry.proto.v1.ReadRedisDumpResponse;
import dev.ferry.proto.v1.ReadSecretsRequest;
import dev.ferry.proto.v1.ReadSecretsResponse;
import dev.ferry.proto.v1.Secret;
import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The target side of the host pulls: asks a source agent for its secrets or its Redis dump. */
public final class HostPeerClient {
  private final PeerConnector connector;

  public HostPeerClient(PeerConnector connector) {
    this.connector = connector;
  }

  /** What the source gave: secret values, non-secret settings, names of uncopied credentials. */
  public record SourceSecrets(SecretValues secrets, Map<String, String> settings, List<String> credentials) {
    @Override
    public String toString() {
      return "SourceSecrets" + secrets.keys();
    }
  }

  public SourceSecrets readSecrets(PeerSource source) throws Exception {
    // A fresh context: the controller's deadline and cancellation should not leak into this call.
    Context previous = Context.ROOT.attach();
    try (PeerConnector.PeerConnection connection = connector.connect(source)) {
      ReadSecretsResponse response =
          HostServiceGrpc.newBlockingStub(connection.channel())
              .withDeadlineAfter(60, TimeUnit.SECONDS)
              .readSecrets(ReadSecretsRequest.getDefaultInstance());
      Map<String, String> values = new LinkedHashMap<>();
      for (Secret secret : response.getSecretsList()) {
        values.put(secret.getKey(), secret.getValue());
      }
      return new SourceSecrets(new SecretValues(values), Map.copyOf(response.getSettingsMap()), response.getUncopiedCredentialsList());
    } catch (StatusRuntimeException e) {
      throw sourceFailure(e);
    } finally {
      Context.ROOT.detach(previous);
    }
  }

  /** Streams the source's dump into this host's {@link RedisDump}. */
  public RedisDump.Received copyRedisDump(PeerSource source, RedisDump target) throws Exception {
    Context.CancellableContext context = Context.current().fork().withCancellation();
    Context previous = context.attach();
    try (PeerConnector.PeerConnection connection = connector.connect(source)) {
      Iterator<ReadRedisDumpResponse> parts =
          HostServiceGrpc.newBlockingStub(connection.channel())
              .withDeadlineAfter(6, TimeUnit.HOURS)
              .readRedisDump(ReadRedisDumpRequest.getDefaultInstance());
      if (!parts.hasNext()) {
        throw new IOException("the source sent no Redis dump");
      }
      ReadRedisDumpResponse first = parts.next();
      if (first.getPartCase() != ReadRedisDumpResponse.PartCase.REDIS_VERSION) {
        throw new IOException("the source's Redis dump stream did not start with its version");
      }
      String[] sha = new String[1];
      // The blocking iterator asks for one message at a time: flow control for free.
      InputStream data = new InputStream() {
        private java.nio.ByteBuffer current = java.nio.ByteBuffer.allocate(0);

        @Override
        public int read() throws IOException {
          byte[] one = new byte[1];
          return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          while (!current.hasRemaining()) {
            if (sha[0] != null || !parts.hasNext()) {
              return -1;
            }
            ReadRedisDumpResponse part = parts.next();
            if (part.getPartCase() == ReadRedisDumpResponse.PartCase.SHA256) {
              sha[0] = part.getSha256();
            } else {
              current = part.getData().asReadOnlyByteBuffer();
            }
          }
          int n = Math.min(len, current.remaining());
          current.get(b, off, n);
          return n;
        }
      };
      return target.receive(data, first.getRedisVersion(), () -> sha[0] == null ? "(none sent)" : sha[0]);
    } catch (StatusRuntimeException e) {
      throw sourceFailure(e);
    } finally {
      context.detach(previous);
      context.cancel(null);
    }
  }

  /**
   * The source's refusal or failure, keeping its code: a ticket the source refuses is
   * PERMISSION_DENIED for the controller too, not a precondition of this host.
   */
  private static io.grpc.StatusException sourceFailure(StatusRuntimeException e) {
    return e.getStatus().withDescription("source agent: " + e.getStatus().getCode() + ": " + e.getStatus().getDescription())
        .asException();
  }
}
