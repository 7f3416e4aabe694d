package dev.ferry.agent.grpc;

import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.logging.Logger;

/**
 * Answers a request that is not a valid protobuf message with INVALID_ARGUMENT. Left to itself,
 * grpc-java parses requests outside any handler, so a malformed one ends the call with UNKNOWN
 * ("Application error processing RPC") and a SEVERE stack trace in the agent's log, which any
 * client certificate could produce at will on Pair and RedeemTicket.
 *
 * <p>It only works on services whose requests arrive as streams ({@link RequestStreams}), so that
 * parsing happens inside the listener this interceptor wraps; {@link AgentServer} sets that up.
 */
final class MalformedRequests implements ServerInterceptor {
  private static final Logger logger = Logger.getLogger(MalformedRequests.class.getName());

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
      private boolean refused;

      @Override
      public void onMessage(ReqT message) {
        if (refused) {
          return;
        }
        try {
          super.onMessage(message);
        } catch (StatusRuntimeException e) {
          if (!(e.getCause() instanceof InvalidProtocolBufferException)) {
            throw e;
          }
          refused = true;
          logger.info("refused a malformed " + call.getMethodDescriptor().getBareMethodName() + " request: " + e.getCause().getMessage());
          try {
            call.close(Status.INVALID_ARGUMENT.withDescription("the request is not a valid message: " + e.getCause().getMessage()),
                new Metadata());
          } catch (IllegalStateException alreadyClosed) {
            // Refused already (by authorization, say); nothing more to tell.
          }
        }
      }

      @Override
      public void onHalfClose() {
        if (!refused) {
          super.onHalfClose();
        }
      }
    };
  }
}
