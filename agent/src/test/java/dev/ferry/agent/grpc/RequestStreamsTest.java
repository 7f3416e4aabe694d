package dev.ferry.agent.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.ferry.proto.v1.AgentServiceGrpc;
import dev.ferry.proto.v1.PairRequest;
import dev.ferry.proto.v1.PairResponse;
import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.SecurityLevel;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The wrapper that lets MalformedRequests see request parsing: requests parsed by the method's
 * own marshaller inside the listener, responses passed on as the service sent them, and every
 * other part of the call (readiness above all, which flow control depends on) passed through.
 */
class RequestStreamsTest {
  private static final PairResponse RESPONSE = PairResponse.newBuilder().setHostname("target").build();
  private static final Attributes.Key<String> PEER = Attributes.Key.create("peer");

  /** The transport's side of a call: records what the service does with it. */
  private static final class TransportCall extends ServerCall<InputStream, Object> {
    final MethodDescriptor<InputStream, Object> method;
    final List<String> did = new ArrayList<>();
    final List<Object> sent = new ArrayList<>();

    TransportCall(MethodDescriptor<InputStream, Object> method) {
      this.method = method;
    }

    @Override
    public void request(int numMessages) {
      did.add("request " + numMessages);
    }

    @Override
    public void sendHeaders(Metadata headers) {
      did.add("headers");
    }

    @Override
    public void sendMessage(Object message) {
      sent.add(message);
    }

    @Override
    public boolean isReady() {
      // Not ServerCall's default (true): a wrapper that failed to ask would say ready.
      return false;
    }

    @Override
    public void close(Status status, Metadata trailers) {
      did.add("close " + status.getCode());
    }

    @Override
    public boolean isCancelled() {
      return true;
    }

    @Override
    public void setMessageCompression(boolean enabled) {
      did.add("message compression " + enabled);
    }

    @Override
    public void setCompression(String compressor) {
      did.add("compression " + compressor);
    }

    @Override
    public void setOnReadyThreshold(int numBytes) {
      did.add("threshold " + numBytes);
    }

    @Override
    public SecurityLevel getSecurityLevel() {
      return SecurityLevel.PRIVACY_AND_INTEGRITY;
    }

    @Override
    public Attributes getAttributes() {
      return Attributes.newBuilder().set(PEER, "source agent").build();
    }

    @Override
    public String getAuthority() {
      return "ferry-agent";
    }

    @Override
    public MethodDescriptor<InputStream, Object> getMethodDescriptor() {
      return method;
    }
  }

  private static final class PairService extends AgentServiceGrpc.AgentServiceImplBase {
    final List<PairRequest> seen = new ArrayList<>();

    @Override
    public void pair(PairRequest request, StreamObserver<PairResponse> responses) {
      seen.add(request);
      responses.onNext(RESPONSE);
      responses.onCompleted();
    }
  }

  @SuppressWarnings("unchecked")
  private static ServerCall.Listener<InputStream> start(ServerServiceDefinition wrapped, TransportCall call) {
    ServerMethodDefinition<?, ?> method = wrapped.getMethod(AgentServiceGrpc.getPairMethod().getFullMethodName());
    return ((ServerCallHandler<InputStream, Object>) method.getServerCallHandler()).startCall(call, new Metadata());
  }

  @SuppressWarnings("unchecked")
  private static MethodDescriptor<InputStream, Object> pairMethod(ServerServiceDefinition wrapped) {
    return (MethodDescriptor<InputStream, Object>)
        wrapped.getMethod(AgentServiceGrpc.getPairMethod().getFullMethodName()).getMethodDescriptor();
  }

  @Test
  void theServiceGetsItsRequestParsedAndItsResponseLeavesUntouched() {
    PairService service = new PairService();
    ServerServiceDefinition wrapped = RequestStreams.of(service.bindService());
    TransportCall call = new TransportCall(pairMethod(wrapped));
    PairRequest request = PairRequest.newBuilder().setControllerName("laptop").setProof(ByteString.copyFromUtf8("proof")).build();

    ServerCall.Listener<InputStream> listener = start(wrapped, call);
    listener.onMessage(request.toByteString().newInput());
    listener.onHalfClose();

    assertEquals(List.of(request), service.seen);
    // The very object: serialized once, by its own marshaller, straight into the transport. grpc's
    // useInputStreamMessages hands the transport a buffered stream of a second serialization.
    assertEquals(1, call.sent.size());
    assertSame(RESPONSE, call.sent.get(0));
    assertSame(AgentServiceGrpc.getPairMethod().getResponseMarshaller(), call.method.getResponseMarshaller());
    assertTrue(call.did.contains("close OK"), call.did.toString());
  }

  @Test
  void aMalformedRequestFailsInsideTheListenerWithTheParserAsItsCause() {
    PairService service = new PairService();
    ServerServiceDefinition wrapped = RequestStreams.of(service.bindService());
    ServerCall.Listener<InputStream> listener = start(wrapped, new TransportCall(pairMethod(wrapped)));

    // Field 1 announced as 100 bytes long, then the stream ends.
    StatusRuntimeException thrown =
        assertThrows(StatusRuntimeException.class, () -> listener.onMessage(new ByteArrayInputStream(new byte[] {0x0a, 100, 'x'})));

    // What MalformedRequests looks for to answer INVALID_ARGUMENT.
    assertInstanceOf(InvalidProtocolBufferException.class, thrown.getCause());
    assertTrue(service.seen.isEmpty());
  }

  @Test
  void everyPartOfTheCallIsPassedThroughToTheTransport() {
    AtomicReference<ServerCall<PairRequest, PairResponse>> seen = new AtomicReference<>();
    ServerServiceDefinition original =
        ServerServiceDefinition.builder(AgentServiceGrpc.SERVICE_NAME)
            .addMethod(AgentServiceGrpc.getPairMethod(), (call, headers) -> {
              seen.set(call);
              return new ServerCall.Listener<>() { };
            })
            .build();
    ServerServiceDefinition wrapped = RequestStreams.of(original);
    TransportCall transport = new TransportCall(pairMethod(wrapped));
    start(wrapped, transport);
    ServerCall<PairRequest, PairResponse> call = seen.get();

    assertFalse(call.isReady());
    assertTrue(call.isCancelled());
    assertEquals("source agent", call.getAttributes().get(PEER));
    assertEquals("ferry-agent", call.getAuthority());
    assertEquals(SecurityLevel.PRIVACY_AND_INTEGRITY, call.getSecurityLevel());
    assertSame(AgentServiceGrpc.getPairMethod(), call.getMethodDescriptor());
    call.request(3);
    call.setOnReadyThreshold(4096);
    call.setCompression("gzip");
    call.setMessageCompression(false);
    call.sendHeaders(new Metadata());
    call.sendMessage(RESPONSE);
    call.close(Status.PERMISSION_DENIED, new Metadata());
    assertEquals(
        List.of("request 3", "threshold 4096", "compression gzip", "message compression false", "headers", "close PERMISSION_DENIED"),
        transport.did);
    assertEquals(List.of(RESPONSE), transport.sent);
  }

  @Test
  void theCallOverridesEveryMethodGrpcMightAdd() throws ClassNotFoundException {
    // A ServerCall method left to its default (isReady's "true", say) would silently stop
    // passing through; this fails when a grpc upgrade brings a new one.
    Class<?> parsedCall = Class.forName(RequestStreams.class.getName() + "$ParsedCall");
    for (Method method : ServerCall.class.getDeclaredMethods()) {
      int modifiers = method.getModifiers();
      if (Modifier.isPublic(modifiers) && !Modifier.isStatic(modifiers) && !Modifier.isFinal(modifiers)) {
        assertEquals(
            parsedCall,
            publicMethod(parsedCall, method).getDeclaringClass(),
            method.getName() + " is not passed through");
      }
    }
  }

  private static Method publicMethod(Class<?> type, Method method) {
    try {
      return type.getMethod(method.getName(), method.getParameterTypes());
    } catch (NoSuchMethodException e) {
      throw new AssertionError(method.getName() + " is missing", e);
    }
  }
}
