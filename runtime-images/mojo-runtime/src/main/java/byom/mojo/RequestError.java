package byom.mojo;

/** A request the caller can fix: answered as {"detail": message} with its status. */
public final class RequestError extends RuntimeException {
  private static final long serialVersionUID = 1L;
  public final int status;

  public RequestError(int status, String message) {
    super(message, null, false, false);
    this.status = status;
  }

  public static RequestError badRequest(String message) {
    return new RequestError(400, message);
  }
}
