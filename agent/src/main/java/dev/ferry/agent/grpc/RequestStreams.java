package dev.ferry.agent.grpc;

import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.SecurityLevel;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Hands a service its requests as streams, parsed only once they reach the listener, so that
 * {@link MalformedRequests} can answer a malformed one. Responses keep each method's own
 * marshaller.
 *
 * <p>grpc's {@code ServerInterceptors.useInputStreamMessages} does the same for requests, but it
 * turns every response into a stream as well and copies it through a {@code BufferedInputStream}
 * on the way out: the whole message is serialized into a new array and copied again, where the
 * method's own marshaller writes it once, straight into the transport's buffers. For media that is
 * an extra 1 MiB array and two copies per chunk sent. Requests are not buffered either: each is
 * parsed straight from grpc's stream, within {@code onMessage}, before grpc closes it.
 */
final class RequestStreams {
  private static final MethodDescriptor.Marshaller<InputStream> STREAMS =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(InputStream value) {
          return value;
        }

        @Override
        public InputStream parse(InputStream stream) {
          // Parsed within onMessage, before grpc closes it; nothing here needs mark/reset.
          return stream;
        }
      };

  private RequestStreams() {}

  static ServerServiceDefinition of(ServerServiceDefinition service) {
    List<ServerMethodDefinition<InputStream, ?>> methods = new ArrayList<>();
    ServiceDescriptor.Builder descriptor =
        ServiceDescriptor.newBuilder(service.getServiceDescriptor().getName())
            .setSchemaDescriptor(service.getServiceDescriptor().getSchemaDescriptor());
    for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
      ServerMethodDefinition<InputStream, ?> wrapped = wrap(method);
      methods.add(wrapped);
      descriptor.addMethod(wrapped.getMethodDescriptor());
    }
    ServerServiceDefinition.Builder wrapped = ServerServiceDefinition.builder(descriptor.build());
    methods.forEach(wrapped::addMethod);
    return wrapped.build();
  }

  private static <ReqT, RespT> ServerMethodDefinition<InputStream, RespT> wrap(ServerMethodDefinition<ReqT, RespT> method) {
    MethodDescriptor<ReqT, RespT> original = method.getMethodDescriptor();
    MethodDescriptor<InputStream, RespT> streamed = original.toBuilder(STREAMS, original.getResponseMarshaller()).build();
    ServerCallHandler<ReqT, RespT> handler = method.getServerCallHandler();
    return ServerMethodDefinition.create(
        streamed, (call, headers) -> new ParsingListener<>(original, handler.startCall(new ParsedCall<>(call, original), headers)));
  }

  /** Parses each request with the method's own marshaller, inside the interceptors' reach. */
  private static final class ParsingListener<ReqT> extends ServerCall.Listener<InputStream> {
    private final MethodDescriptor<ReqT, ?> method;
    private final ServerCall.Listener<ReqT> delegate;

    ParsingListener(MethodDescriptor<ReqT, ?> method, ServerCall.Listener<ReqT> delegate) {
      this.method = method;
      this.delegate = delegate;
    }

    @Override
    public void onMessage(InputStream message) {
      delegate.onMessage(method.parseRequest(message));
    }

    @Override
    public void onHalfClose() {
      delegate.onHalfClose();
    }

    @Override
    public void onCancel() {
      delegate.onCancel();
    }

    @Override
    public void onComplete() {
      delegate.onComplete();
    }

    @Override
    public void onReady() {
      delegate.onReady();
    }
  }

  /** The call as the service sees it: its own request type, everything else passed through. */
  private static final class ParsedCall<ReqT, RespT> extends ServerCall<ReqT, RespT> {
    private final ServerCall<InputStream, RespT> call;
    private final MethodDescriptor<ReqT, RespT> method;

    ParsedCall(ServerCall<InputStream, RespT> call, MethodDescriptor<ReqT, RespT> method) {
      this.call = call;
      this.method = method;
    }

    @Override
    public void request(int numMessages) {
      call.request(numMessages);
    }

    @Override
    public void sendHeaders(Metadata headers) {
      call.sendHeaders(headers);
    }

    @Override
    public void sendMessage(RespT message) {
      call.sendMessage(message);
    }

    @Override
    public boolean isReady() {
      return call.isReady();
    }

    @Override
    public void close(Status status, Metadata trailers) {
      call.close(status, trailers);
    }

    @Override
    public boolean isCancelled() {
      return call.isCancelled();
    }

    @Override
    public void setMessageCompression(boolean enabled) {
      call.setMessageCompression(enabled);
    }

    @Override
    public void setCompression(String compressor) {
      call.setCompression(compressor);
    }

    @Override
    public void setOnReadyThreshold(int numBytes) {
      call.setOnReadyThreshold(numBytes);
    }

    @Override
    public SecurityLevel getSecurityLevel() {
      return call.getSecurityLevel();
    }

    @Override
    public Attributes getAttributes() {
      return call.getAttributes();
    }

    @Override
    public String getAuthority() {
      return call.getAuthority();
    }

    @Override
    public MethodDescriptor<ReqT, RespT> getMethodDescriptor() {
      return method;
    }
  }
}
