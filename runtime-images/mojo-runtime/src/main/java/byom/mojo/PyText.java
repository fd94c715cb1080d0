package byom.mojo;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonPrimitive;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Text exactly as the Python runtimes write it, so both runtime families give the same answers:
 * floats as Python's repr (the shortest text that reads back as the same double), and values in
 * error messages as Python's repr of the parsed JSON value.
 */
public final class PyText {
  private PyText() {}

  /** Python's repr(float). */
  public static String repr(double value) {
    if (Double.isNaN(value)) return "nan";
    if (Double.isInfinite(value)) return value > 0 ? "inf" : "-inf";
    if (value == 0) return (1 / value < 0) ? "-0.0" : "0.0";
    BigDecimal digits = shortest(value);
    String unscaled = digits.unscaledValue().abs().toString();
    // Trailing zeros carry no information in repr.
    int trim = unscaled.length();
    while (trim > 1 && unscaled.charAt(trim - 1) == '0') trim--;
    String significant = unscaled.substring(0, trim);
    int exponent = unscaled.length() - 1 - digits.scale(); // decimal exponent of the first digit
    String sign = value < 0 ? "-" : "";
    if (exponent < -4 || exponent >= 16) {
      String mantissa = significant.length() == 1 ? significant : significant.charAt(0) + "." + significant.substring(1);
      String exp = String.format("%s%02d", exponent < 0 ? "-" : "+", Math.abs(exponent));
      return sign + mantissa + "e" + exp;
    }
    if (exponent < 0) return sign + "0." + "0".repeat(-exponent - 1) + significant;
    if (significant.length() <= exponent + 1) {
      return sign + significant + "0".repeat(exponent + 1 - significant.length()) + ".0";
    }
    return sign + significant.substring(0, exponent + 1) + "." + significant.substring(exponent + 1);
  }

  /** The fewest significant digits that round-trip (JDK 17's Double.toString is not always shortest). */
  private static BigDecimal shortest(double value) {
    BigDecimal exact = new BigDecimal(value);
    BigDecimal best = new BigDecimal(Double.toString(value));
    for (int precision = best.stripTrailingZeros().precision() - 1; precision >= 1; precision--) {
      BigDecimal candidate = exact.round(new MathContext(precision));
      if (candidate.doubleValue() != value) break;
      best = candidate;
    }
    return best;
  }

  /** Python's repr of a parsed JSON value (None, True, 3, 1.5, 'text', [..], {..}). */
  public static String repr(JsonElement value) {
    if (value == null || value.isJsonNull()) return "None";
    if (value.isJsonPrimitive()) {
      JsonPrimitive primitive = value.getAsJsonPrimitive();
      if (primitive.isBoolean()) return primitive.getAsBoolean() ? "True" : "False";
      if (primitive.isNumber()) return numberText(primitive);
      return quote(primitive.getAsString());
    }
    if (value.isJsonArray()) {
      JsonArray array = value.getAsJsonArray();
      StringBuilder out = new StringBuilder("[");
      for (int i = 0; i < array.size(); i++) out.append(i == 0 ? "" : ", ").append(repr(array.get(i)));
      return out.append("]").toString();
    }
    return value.toString();
  }

  /** Python's str of a JSON value as the scorer echoes it (None is ""). */
  public static String text(JsonElement value) {
    if (value == null || value.isJsonNull()) return "";
    if (value.isJsonPrimitive()) {
      JsonPrimitive primitive = value.getAsJsonPrimitive();
      if (primitive.isBoolean()) return primitive.getAsBoolean() ? "true" : "false";
      if (primitive.isNumber()) return numberText(primitive);
      return primitive.getAsString();
    }
    return repr(value);
  }

  /** A JSON number as Python prints it after json.loads: integers as digits, others as float repr. */
  public static String numberText(JsonPrimitive number) {
    String raw = number.getAsString();
    if (isIntegerLiteral(raw)) return new java.math.BigInteger(raw).toString();
    return repr(number.getAsDouble());
  }

  public static boolean isIntegerLiteral(String raw) {
    return raw.indexOf('.') < 0 && raw.indexOf('e') < 0 && raw.indexOf('E') < 0;
  }

  /** Python's repr of a str. */
  public static String quote(String text) {
    char q = text.indexOf('\'') >= 0 && text.indexOf('"') < 0 ? '"' : '\'';
    StringBuilder out = new StringBuilder().append(q);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == q || c == '\\') out.append('\\').append(c);
      else if (c == '\n') out.append("\\n");
      else if (c == '\r') out.append("\\r");
      else if (c == '\t') out.append("\\t");
      else if (c < 0x20 || c == 0x7f) out.append(String.format("\\x%02x", (int) c));
      else out.append(c);
    }
    return out.append(q).toString();
  }

  /** Python's repr of a list of str. */
  public static String list(List<String> names) {
    return names.stream().map(PyText::quote).collect(Collectors.joining(", ", "[", "]"));
  }
}
