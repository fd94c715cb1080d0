package byom.mojo;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bouncycastle.crypto.generators.SCrypt;

/**
 * BYOM_PASSPHRASE_HASH = `scrypt$<N>$<r>$<p>$<salt-hex>$<key-hex>` (docs/runtimes.md), checked as
 * the Python runtimes check it: Bearer token, constant-time compare, verdicts remembered per
 * Authorization header (at most 64) so scrypt's cost is paid once per client token.
 */
public final class Passphrase {
  private static final int MAX_CACHED = 64;
  private final int n;
  private final int r;
  private final int p;
  private final byte[] salt;
  private final byte[] key;
  private final Map<String, Boolean> verdicts = new LinkedHashMap<>();

  public Passphrase(String encoded) {
    String[] parts = encoded.split("\\$", -1);
    try {
      if (parts.length != 6) throw new IllegalArgumentException("expected 6 parts, got " + parts.length);
      if (!parts[0].equals("scrypt")) throw new IllegalArgumentException("scheme '" + parts[0] + "' is not scrypt");
      n = Integer.parseInt(parts[1]);
      r = Integer.parseInt(parts[2]);
      p = Integer.parseInt(parts[3]);
      salt = HexFormat.of().parseHex(parts[4]);
      key = HexFormat.of().parseHex(parts[5]);
    } catch (IllegalArgumentException error) {
      throw new IllegalArgumentException(
          "BYOM_PASSPHRASE_HASH is not scrypt$<N>$<r>$<p>$<salt-hex>$<key-hex>: " + error.getMessage(), error);
    }
  }

  public void require(String authorization) {
    if (authorization == null || !authorization.startsWith("Bearer ")) {
      throw new RequestError(401, "this deployment needs the header Authorization: Bearer <passphrase>");
    }
    Boolean verdict;
    synchronized (verdicts) {
      verdict = verdicts.get(authorization);
    }
    if (verdict == null) {
      byte[] derived = SCrypt.generate(
          authorization.substring("Bearer ".length()).getBytes(StandardCharsets.UTF_8), salt, n, r, p, key.length);
      verdict = MessageDigest.isEqual(derived, key);
      synchronized (verdicts) {
        if (verdicts.size() >= MAX_CACHED) verdicts.clear();
        verdicts.put(authorization, verdict);
      }
    }
    if (!verdict) throw new RequestError(401, "the passphrase is wrong");
  }
}
